/**
 * Content poisoning: networks of 10 providers in which 10%, 30% and 50% serve wrong bytes,
 * truncate, or stall (a stalling provider is a stock peer that provides the package, sends the
 * header and then nothing). For each: installs completed / attempted, bad bytes installed (must be
 * 0), median time to install, and the providers penalised.
 */
import { recordFigure } from "./figures.ts";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import { waitForPeers } from "../src/p2p/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { randomBytes, tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { fetchFromPeers } from "./p2p_helpers.ts";
import { createStockPeer } from "./stock_peer.ts";
import { encodeFrame } from "../src/p2p/fetch_wire.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

const INSTALLS = Number(Deno.env.get("GGEN_POISON_INSTALLS") ?? 6);

Deno.test("poisoning: 10%, 30% and 50% lying providers never get bad bytes installed", async () => {
  await using work = await tempDir();
  const blob = randomBytes(256 * 1024);
  const sha = sha256Hex(blob);
  const version = { id: "io.poison.pkg", version: "1.0.0", sha256: sha, size: blob.length } as PackageVersion;
  const providers: WorkerNode[] = [];
  const stallers: Awaited<ReturnType<typeof createStockPeer>>[] = [];
  const file = (i: number) => join(work.path, `p${i}`, "cache", "sha256", sha);
  try {
    for (let i = 0; i < 10; i++) {
      await Deno.mkdir(join(work.path, `p${i}`, "cache", "sha256"), { recursive: true });
      await Deno.writeFile(file(i), blob);
      providers.push(
        await startWorkerNode(
          { logger: silentLogger },
          loopbackNodeInit(join(work.path, `p${i}`), { bootstrap: i ? [providers[0]!.listenAddrs[0]!] : [] }),
        ),
      );
    }
    await waitForPeers(providers[9]!, 3, 5000);
    for (const p of providers) await p.provide(sha);
    const rows: string[] = [];
    let run = 0;
    const cid = CID.createV1(raw.code, await sha256.digest(blob));
    for (const ratio of [0.1, 0.3, 0.5]) {
      const bad = Math.round(ratio * 10);
      await Promise.all(stallers.splice(0).map((p) => p.stop()));
      for (let i = 0; i < 10; i++) {
        const lie = i < bad ? ["wrong", "truncated", "stall"][i % 3]! : "honest";
        if (lie === "stall") {
          // This slot's provider stalls: the worker drops its copy, a stock peer provides and stalls
          await Deno.remove(file(i)).catch(() => {});
          const peer = await createStockPeer();
          await peer.handle("/ggen/fetch/1.0.0", (stream) => {
            stream.send(encodeFrame({ ok: true, total: blob.length, offset: 0, length: blob.length }));
          });
          await peer.dial(multiaddr(providers[i]!.listenAddrs[0]!));
          // Provide once the stalling peer has the provider in its routing table (after identify)
          for (let w = 0; w < 100 && (peer.services.dht as SingleKadDHT).routingTable.size === 0; w++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          await peer.contentRouting.provide(cid).catch(() => {});
          stallers.push(peer);
          continue;
        }
        const bytes = lie === "wrong"
          ? blob.map((b, j) => (j === 1000 ? b ^ 0xff : b))
          : lie === "truncated"
          ? blob.subarray(0, blob.length >> 1)
          : blob;
        await Deno.writeFile(file(i), bytes);
      }
      let completed = 0;
      let badInstalled = 0;
      const times: number[] = [];
      const penalised: number[] = [];
      for (let k = 0; k < INSTALLS; k++) {
        const client = await startWorkerNode(
          { logger: silentLogger },
          loopbackNodeInit(join(work.path, `c${run++}`), { bootstrap: [providers[9 - (k % 3)]!.listenAddrs[0]!] }),
        );
        try {
          await waitForPeers(client, 1, 2500);
          const t0 = performance.now();
          try {
            const got = await fetchFromPeers(client, version, join(work.path, `cache${run}`), { stallMs: 1000 });
            times.push(performance.now() - t0);
            completed++;
            if (sha256Hex(await Deno.readFile(got.path)) !== sha) badInstalled++;
          } catch {
            // every provider tried was bad
          }
          penalised.push((await client.banned()).length);
        } finally {
          await client.stop();
        }
      }
      times.sort((a, b) => a - b);
      const median = times.length ? times[Math.floor(times.length / 2)]!.toFixed(0) : "-";
      rows.push(
        `| ${ratio * 100}% (${bad}/10) | ${completed}/${INSTALLS} | ${badInstalled} | ${median} ms | ${
          penalised.reduce((a, b) => a + b, 0)
        } |`,
      );
      assert.equal(badInstalled, 0);
      assert.equal(completed, INSTALLS);
    }
    console.log(
      "\n| lying providers (wrong, truncated, stalling) | installs completed | bad bytes installed | median time | providers penalised (banned) |\n| --- | --- | --- | --- | --- |\n" +
        rows.join("\n"),
    );
    await recordFigure(
      "lying-providers",
      String(rows.map((r) => r.split("|").slice(1, 6).map((c) => c.trim()).join(", ")).join("; ")).trim(),
    );
  } finally {
    await Promise.all(stallers.map((p) => p.stop()));
    await Promise.all(providers.map((p) => p.stop()));
  }
});
