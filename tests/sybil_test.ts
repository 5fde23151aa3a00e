/**
 * A Sybil run: 30 honest ggen nodes, then 30 hostile stock peers that provide the same package and
 * accept fetches only to garble, stall or drop them. Reports the announcement delivery ratio and
 * install success before and during the attack; bad bytes installed must stay 0.
 * GGEN_SYBIL_HONEST / GGEN_SYBIL_HOSTILE change the sizes.
 */
import { recordFigure } from "./figures.ts";
import { waitForPeers } from "../src/p2p/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { CID } from "multiformats/cid";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { encodeFrame, type FetchRequest, readFrame } from "../src/p2p/fetch_wire.ts";
import { startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { randomBytes, tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { fetchFromPeers, signedAnnouncement } from "./p2p_helpers.ts";
import { generateKey, loadSigner } from "../src/trust/mod.ts";
import { createStockPeer } from "./stock_peer.ts";

const HONEST = Number(Deno.env.get("GGEN_SYBIL_HONEST") ?? 30);
const HOSTILE = Number(Deno.env.get("GGEN_SYBIL_HOSTILE") ?? 30);
const INSTALLS = 5;
const ANNOUNCEMENTS = 5;
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

Deno.test("sybil: hostile peers that garble, stall and drop do not get bad bytes installed", async () => {
  await using work = await tempDir();
  const blob = randomBytes(256 * 1024);
  const sha = sha256Hex(blob);
  await generateKey(work.path, "publisher");
  const publisher = await loadSigner(work.path, "publisher");
  const version = { id: "io.sybil.pkg", version: "1.0.0", sha256: sha, size: blob.length } as PackageVersion;
  const honest: WorkerNode[] = [];
  const hostile: Awaited<ReturnType<typeof createStockPeer>>[] = [];
  const clients: WorkerNode[] = [];
  try {
    for (let i = 0; i < HONEST; i++) {
      const home = join(work.path, `h${i}`);
      if (i < 3) {
        await Deno.mkdir(join(home, "cache", "sha256"), { recursive: true });
        await Deno.writeFile(join(home, "cache", "sha256", sha), blob);
      }
      honest.push(
        await startWorkerNode(
          { logger: silentLogger },
          loopbackNodeInit(home, { bootstrap: i ? [pick(honest).listenAddrs[0]!] : [] }),
        ),
      );
    }
    await Promise.all(honest.map((n) => waitForPeers(n, 1, 10_000)));
    for (const n of honest.slice(0, 3)) await n.provide(sha);
    // Meshes form on gossipsub heartbeats: probe until every node hears the first one
    for (let k = 0; k < 50; k++) {
      await honest[0]!.announce(
        await signedAnnouncement(publisher, `io.sybil.probe${k}`, honest[0]!.peerId, {
          sha256: sha,
          size: blob.length,
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const heard = await Promise.all(
        honest.slice(1).map(async (n) => (await n.search("io.sybil.probe", 50).catch(() => [])).length > 0),
      );
      if (heard.every(Boolean)) break;
    }

    let run = 0;
    const measure = async (phase: string) => {
      for (let k = 0; k < ANNOUNCEMENTS; k++) {
        await honest[0]!.announce(
          await signedAnnouncement(publisher, `io.sybil.${phase}${k}`, honest[0]!.peerId, {
            sha256: sha,
            size: blob.length,
          }),
        );
      }
      // Delivery is counted when every announcement reached every node, or after 10 s at most
      const expected = ANNOUNCEMENTS * (honest.length - 1);
      let delivered = 0;
      for (let wait = 0; wait < 100; wait++) {
        delivered = 0;
        for (const n of honest.slice(1)) {
          const hits = await n.search(`io.sybil.${phase}`, 20).catch(() => []);
          delivered += hits.filter((h) => h.package_id.startsWith(`io.sybil.${phase}`)).length;
        }
        if (delivered >= expected) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      let installed = 0;
      let bad = 0;
      for (let k = 0; k < INSTALLS; k++) {
        const client = await startWorkerNode(
          { logger: silentLogger },
          loopbackNodeInit(join(work.path, `c${run++}`), { bootstrap: [pick(honest.slice(3)).listenAddrs[0]!] }),
        );
        clients.push(client);
        await waitForPeers(client, 1, 2500);
        try {
          const got = await fetchFromPeers(client, version, join(work.path, `cache${run}`), { stallMs: 1000 });
          installed++;
          if (sha256Hex(await Deno.readFile(got.path)) !== sha) bad++;
        } catch {
          // no honest provider within reach this time
        }
        await client.stop();
        clients.pop();
      }
      return { delivery: delivered / ((HONEST - 1) * ANNOUNCEMENTS), installed, bad };
    };

    const before = await measure("before");

    // The attack: hostile peers join the DHT, provide the package, and lie when asked for it
    const cid = CID.createV1(raw.code, await sha256.digest(blob));
    for (let i = 0; i < HOSTILE; i++) {
      const peer = await createStockPeer();
      const mode = ["garble", "stall", "drop"][i % 3]!;
      await peer.handle("/ggen/fetch/1.0.0", async (stream) => {
        const it = (async function* () {
          for await (const c of stream) yield c instanceof Uint8Array ? c : c.subarray();
        })();
        await readFrame<FetchRequest>(it[Symbol.asyncIterator]()).catch(() => undefined);
        if (mode === "drop") return stream.abort(new Error("dropped"));
        stream.send(encodeFrame({ ok: true, total: blob.length, offset: 0, length: blob.length }));
        if (mode === "garble") {
          const junk = randomBytes(blob.length);
          stream.send(junk);
          await stream.close().catch(() => {});
        }
        // stall: say nothing more and keep the stream open
      });
      for (let k = 0; k < 3; k++) await peer.dial(multiaddr(pick(honest).listenAddrs[0]!)).catch(() => {});
      hostile.push(peer);
    }
    // Provide once each hostile peer has someone in its routing table
    for (let wait = 0; wait < 100; wait++) {
      if (hostile.every((p) => (p.services.dht as SingleKadDHT).routingTable.size > 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(hostile.map((p) => p.contentRouting.provide(cid).catch(() => {})));
    const during = await measure("during");

    console.log(
      `\n| phase | announcement delivery | installs completed | bad bytes installed |\n| --- | --- | --- | --- |\n` +
        `| before (${HONEST} honest) | ${
          (before.delivery * 100).toFixed(0)
        }% | ${before.installed}/${INSTALLS} | ${before.bad} |\n` +
        `| during (+${HOSTILE} hostile: garble, stall, drop) | ${
          (during.delivery * 100).toFixed(0)
        }% | ${during.installed}/${INSTALLS} | ${during.bad} |`,
    );
    await recordFigure(
      "sybil",
      String(
        `before (${HONEST} honest): delivery ${
          (before.delivery * 100).toFixed(0)
        }%, installs ${before.installed}/${INSTALLS}, bad bytes ${before.bad}; during (+${HOSTILE} hostile): delivery ${
          (during.delivery * 100).toFixed(0)
        }%, installs ${during.installed}/${INSTALLS}, bad bytes ${during.bad}`,
      ).trim(),
    );
    assert.equal(before.bad + during.bad, 0);
    assert.equal(before.installed, INSTALLS);
    assert.ok(during.installed >= INSTALLS - 2, `only ${during.installed}/${INSTALLS} installs during the attack`);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(hostile.map((p) => p.stop()));
    await Promise.all(honest.map((n) => n.stop()));
  }
});
