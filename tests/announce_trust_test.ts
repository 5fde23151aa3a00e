/**
 * Announcements and catalog entries must be signed by their publisher (issue 12, items 2, 7
 * and 8): unsigned ones, signatures over another version, and escape characters are refused
 * on receipt and cost the sender; a flood of valid ones is held to a per-peer rate; what a node
 * re-serves carries a signature anyone can check. A real ggen node and stock js-libp2p peers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { silentLogger } from "../src/core/logger.ts";
import { encodeFrame, readFrame, startWorkerNode, verifyAnnouncement } from "../src/p2p/mod.ts";
import { encodeJson } from "../src/p2p/record_values.ts";
import { generateKey, loadSigner } from "../src/trust/mod.ts";
import { recordFigure } from "./figures.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { signedAnnouncement } from "./p2p_helpers.ts";
import { createStockPeer } from "./stock_peer.ts";

const TOPIC = "ggen/packages/announce";

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${attempts * 50} ms`);
}

const meshSize = (pubsub: unknown) => (pubsub as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC).length;

Deno.test("announcements: unsigned, mismatched and escaping entries refused; floods rate-limited; re-served signed", async () => {
  await using work = await tempDir();
  await generateKey(work.path, "publisher");
  const publisher = await loadSigner(work.path, "publisher");
  const node = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "ggen")));
  const peers = [await createStockPeer(), await createStockPeer()];
  const [attacker, honest] = peers as [typeof peers[0], typeof peers[0]];
  try {
    for (const p of peers) {
      p.services.pubsub.subscribe(TOPIC);
      await p.dial(multiaddr(node.listenAddrs[0]!));
      await waitUntil("mesh", () => meshSize(p.services.pubsub) > 0);
    }
    const publish = async (peer: typeof attacker, value: unknown) =>
      await peer.services.pubsub.publish(TOPIC, encodeJson(value)).catch(() => {});
    const stored = async (id: string) => (await node.search(id, 5)).filter((e) => e.package_id === id).length;

    // Hostile entries from the attacker, each refused on receipt
    const good = await signedAnnouncement(publisher, "io.ann.mixed", attacker.peerId.toString());
    const { signature: _s, publisher_key: _k, ...unsigned } = await signedAnnouncement(
      publisher,
      "io.ann.unsigned",
      attacker.peerId.toString(),
    );
    const mixed = { ...good, version: "9.9.9" }; // a valid signature of 1.0.0 on 9.9.9
    const escaping = {
      ...(await signedAnnouncement(publisher, "io.ann.escape", attacker.peerId.toString())),
      description: "\x1b]0;pwned\x07\u202e",
    };
    await publish(attacker, unsigned);
    await publish(attacker, mixed);
    await publish(attacker, escaping);
    // Barrier: an honest, signed announcement sent afterwards
    await publish(honest, await signedAnnouncement(publisher, "io.ann.honest", honest.peerId.toString()));
    await waitUntil("the honest announcement", async () => (await stored("io.ann.honest")) === 1);
    const refused = [
      await stored("io.ann.unsigned"),
      (await node.search("io.ann.mixed", 5)).filter((e) => e.version === "9.9.9").length,
      await stored("io.ann.escape"),
    ];
    assert.deepEqual(refused, [0, 0, 0]);
    const attackerScore = (await node.peers()).find((p) => p.peerId === attacker.peerId.toString())?.score ?? -Infinity;
    assert.ok(attackerScore < 0, `the sender paid for invalid announcements (score ${attackerScore})`);

    // What the node re-serves to a catalog query carries a signature that verifies
    const stream = await honest.dialProtocol(multiaddr(node.listenAddrs[0]!), "/ggen/catalog/1.0.0");
    stream.send(encodeFrame({ text: "io.ann.honest", limit: 5 }));
    await stream.close();
    const { frame } = await readFrame<Record<string, unknown>[]>(
      (async function* () {
        for await (const c of stream) yield c instanceof Uint8Array ? c : c.subarray();
      })()[Symbol.asyncIterator](),
    );
    const served = frame.find((e) => e.package_id === "io.ann.honest")!;
    const checked = await verifyAnnouncement(encodeJson({ ...served, type: "announce" }));
    assert.equal(checked.keyid, publisher.keyid);

    // A flood of 300 valid, signed announcements from one peer: held to the per-peer rate
    const flooder = honest;
    for (let i = 0; i < 300; i++) {
      await publish(flooder, await signedAnnouncement(publisher, `io.ann.flood${i}`, flooder.peerId.toString()));
    }
    // Counted once the catalog stops growing (three checks in a row)
    let last = -1;
    let stable = 0;
    await waitUntil("the catalog to settle", async () => {
      const size = (await node.status()).catalogSize;
      stable = size === last ? stable + 1 : 0;
      last = size;
      return stable >= 3;
    });
    const kept = (await node.search("io.ann.flood", 50)).length;
    const status = await node.status();
    const figure =
      `unsigned, mismatched-signature and escaping announcements: 0 of 3 stored, sender score ${
        attackerScore.toFixed(1)
      }; a re-served entry verifies (signed by ${publisher.keyid.slice(0, 14)}…); 300 valid announcements in a burst ` +
      `from one peer: ${status.catalogSize} catalog entries in all (per-peer burst 64, then 10/s)`;
    console.log(`  ${figure}`);
    assert.ok(status.catalogSize < 150, `${status.catalogSize} entries after the flood`);
    assert.ok(kept > 0);
    await recordFigure("signed-announcements", figure);
  } finally {
    for (const p of peers) await p.stop();
    await node.stop();
  }
});
