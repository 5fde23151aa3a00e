/**
 * A stock js-libp2p peer, configured only with ggen's public protocol ids, finds a ggen node's
 * providers, reads its DHT record and receives its gossip announcements. The test imports
 * nothing from ggen's src/: it speaks to the daemon only over the network.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import { createStockPeer } from "./stock_peer.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { startDaemon } from "./p2p_helpers.ts";

Deno.test("interop: a stock js-libp2p peer finds ggen's providers, records and announcements", async () => {
  await using work = await tempDir();
  const daemon = await startDaemon(join(work.path, "ggen"));
  const stock = await createStockPeer();
  try {
    const announcements: Record<string, unknown>[] = [];
    stock.services.pubsub.addEventListener("message", (evt) => {
      if (evt.detail.topic === "ggen/packages/announce") {
        announcements.push(JSON.parse(new TextDecoder().decode(evt.detail.data)));
      }
    });
    stock.services.pubsub.subscribe("ggen/packages/announce");
    await stock.dial(multiaddr(daemon.addr));
    for (let i = 0; i < 50 && (stock.services.dht as SingleKadDHT).routingTable.size === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // Publish once gossipsub grafted the daemon into the stock peer's topic mesh (on a heartbeat)
    const mesh = stock.services.pubsub as unknown as { getMeshPeers(topic: string): string[] };
    for (let i = 0; i < 200 && mesh.getMeshPeers("ggen/packages/announce").length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.interop.pkg", version: "1.0.0" });
    const packed = await ggen(["pack", pkg, "--out", join(work.path, "pkg.tar.gz"), "--json"], { home: daemon.home });
    assert.equal(packed.code, 0, packed.stderr);
    const pub = await ggen(["publish", "--p2p", pkg], { home: daemon.home });
    assert.equal(pub.code, 0, pub.stderr);

    // CID = CIDv1(raw, sha2-256(tarball)), computed here with multiformats alone
    const bytes = await Deno.readFile(join(work.path, "pkg.tar.gz"));
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    const providers: string[] = [];
    for await (const p of stock.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
      providers.push(p.id.toString());
      break;
    }
    assert.deepEqual(providers, [daemon.peerId]);

    let record: Record<string, unknown> | undefined;
    for await (
      const ev of stock.services.dht.get(new TextEncoder().encode("/ggen/io.interop.pkg/1.0.0"), {
        signal: AbortSignal.timeout(10_000),
      })
    ) {
      if (ev.name === "VALUE") {
        record = JSON.parse(new TextDecoder().decode(ev.value));
        break;
      }
    }
    // The design's §4.1 fields, read without ggen's code
    assert.equal(record?.package_id, "io.interop.pkg");
    assert.equal(record?.version, "1.0.0");
    assert.equal(record?.sha256, jsonLines<{ sha256: string }>(packed.stdout)[0]?.sha256);
    assert.equal(record?.size_bytes, bytes.length);
    const named = record?.providers as { peer_id: string; multiaddr: string; last_seen: string }[];
    assert.equal(named[0]?.peer_id, daemon.peerId);
    assert.ok(named[0]?.multiaddr.startsWith("/ip4/"));
    assert.ok(!Number.isNaN(Date.parse(named[0]!.last_seen)) && named[0]!.last_seen.endsWith("Z"));

    for (let i = 0; i < 50 && announcements.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    // The design's §4.2 announcement: "type": "announce" and an ISO 8601 UTC timestamp
    assert.equal(announcements[0]?.type, "announce");
    assert.match(String(announcements[0]?.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(announcements[0]?.package_id, "io.interop.pkg");
    assert.equal(announcements[0]?.peer_id, daemon.peerId);
  } finally {
    await stock.stop();
    await daemon.stop();
  }
});
