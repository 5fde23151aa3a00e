/**
 * DHT record poisoning: a stock js-libp2p peer with a permissive validator puts unsigned, wrongly
 * signed, other-package and oversized records, and replays an older valid index record on the
 * nodes after a newer one. ggen nodes store none of the bad records, return none, and no stale
 * record reaches the CLI.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import { createStockPeer } from "./stock_peer.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { silentLogger } from "../src/core/logger.ts";
import { connectDaemon } from "../src/p2p/mod.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

const enc = new TextEncoder();

Deno.test("p2p records: bad records are neither stored nor returned; replayed old records never reach the CLI", async () => {
  await using work = await tempDir();
  const daemons: Daemon[] = [];
  const stock = await createStockPeer();
  try {
    for (let i = 0; i < 4; i++) {
      daemons.push(await startDaemon(join(work.path, `n${i}`), { bootstrap: i ? [daemons[0]!.addr] : [] }));
    }
    for (const d of daemons) await stock.dial(multiaddr(d.addr));
    for (let i = 0; i < 50 && (stock.services.dht as SingleKadDHT).routingTable.size < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const publisher = daemons[0]!;
    const client = join(work.path, "client");
    await Deno.mkdir(client);
    const env = { GGEN_BOOTSTRAP: daemons[3]!.addr };
    const info = async () => {
      const r = await ggen(["info", "--p2p", "io.rec.pkg", "--json"], { home: client, env });
      assert.equal(r.code, 0, r.stderr);
      return {
        versions: jsonLines<{ versions: { version: string }[] }>(r.stdout)[0]!.versions.map((v) => v.version),
        stderr: r.stderr,
      };
    };

    assert.equal(
      (await ggen([
        "publish",
        "--p2p",
        await writePackage(join(work.path, "a"), { id: "io.rec.pkg", version: "1.0.0" }),
      ], { home: publisher.home })).code,
      0,
    );
    let oldIndex: Uint8Array | undefined;
    for await (
      const ev of stock.services.dht.get(enc.encode("/ggen/io.rec.pkg"), { signal: AbortSignal.timeout(10_000) })
    ) {
      if (ev.name === "VALUE") {
        oldIndex = ev.value;
        break;
      }
    }
    assert.ok(oldIndex, "the stock peer could not read the index record");
    assert.deepEqual((await info()).versions, ["1.0.0"]);
    await new Promise((r) => setTimeout(r, 20)); // the next index gets a later timestamp
    assert.equal(
      (await ggen([
        "publish",
        "--p2p",
        await writePackage(join(work.path, "b"), { id: "io.rec.pkg", version: "1.1.0" }),
      ], { home: publisher.home })).code,
      0,
    );
    assert.deepEqual((await info()).versions, ["1.0.0", "1.1.0"]);

    // Replay the older, validly signed index on every node after the newer one
    for await (const _ of stock.services.dht.put(enc.encode("/ggen/io.rec.pkg"), oldIndex!)) { /* drain */ }
    let staleHeld = 0;
    for await (
      const ev of stock.services.dht.get(enc.encode("/ggen/io.rec.pkg"), { signal: AbortSignal.timeout(10_000) })
    ) {
      if (ev.name === "VALUE" && new TextDecoder().decode(ev.value) === new TextDecoder().decode(oldIndex!)) {
        staleHeld++;
      }
    }
    const after = await info();
    assert.deepEqual(after.versions, ["1.0.0", "1.1.0"], "a stale index reached the CLI");
    console.log(
      `  replay: the stale index was returned by ${staleHeld} peers; stale records reaching the CLI: 0${
        /Ignored \d+ stale/.test(after.stderr) ? " (refused by the high-water mark)" : ""
      }`,
    );
    await recordFigure(
      "dht-replay",
      String(
        `  replay: the stale index was returned by ${staleHeld} peers; stale records reaching the CLI: 0${
          /Ignored \d+ stale/.test(after.stderr) ? " (refused by the high-water mark)" : ""
        }`,
      ).trim(),
    );

    // Bad records: put by the stock peer, then looked up through ggen nodes
    const good = JSON.parse(new TextDecoder().decode(oldIndex!));
    const bad: [string, string, unknown][] = [
      ["unsigned", "/ggen/io.evil.pkg", {
        ...good,
        package_id: "io.evil.pkg",
        signature: undefined,
        publisher_key: undefined,
      }],
      ["wrongly signed", "/ggen/io.rec.pkg", { ...good, versions: [{ version: "6.6.6", sha256: "e".repeat(64) }] }],
      ["other package", "/ggen/io.evil.other", good],
      ["oversized", "/ggen/io.evil.big", { ...good, package_id: "io.evil.big", padding: "x".repeat(20_000) }],
    ];
    const node = await connectDaemon(daemons[2]!.home, silentLogger);
    let stored = 0;
    let returned = 0;
    for (const [name, key, value] of bad) {
      for await (const _ of stock.services.dht.put(enc.encode(key), enc.encode(JSON.stringify(value)))) { /* drain */ }
      const values = await node!.getRecords(key);
      const hits = values.filter((v) => v.value === JSON.stringify(value)).length;
      returned += hits;
      for (const d of daemons) {
        const dn = await connectDaemon(d.home, silentLogger);
        stored += (await dn!.getRecords(key)).filter((v) => v.value === JSON.stringify(value)).length;
      }
      console.log(`  ${name}: returned ${hits}`);
    }
    assert.deepEqual((await info()).versions, ["1.0.0", "1.1.0"]);
    console.log(
      `  bad records: ${bad.length} kinds put on ${daemons.length} nodes: ${stored} stored, ${returned} returned`,
    );
    await recordFigure(
      "dht-poisoning",
      String(
        `  bad records: ${bad.length} kinds put on ${daemons.length} nodes: ${stored} stored, ${returned} returned`,
      ).trim(),
    );
    assert.equal(stored, 0);
    assert.equal(returned, 0);
  } finally {
    await stock.stop();
    await Promise.all(daemons.map((d) => d.stop()));
  }
});
