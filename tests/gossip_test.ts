/**
 * Gossip hardening: a peer that floods `ggen/packages/announce` with invalid announcements is
 * penalised (gossipsub P4 and ggen's reputation), graylisted and banned, and nothing it sends
 * afterwards is processed.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { createStockPeer } from "./stock_peer.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { signedAnnouncement } from "./p2p_helpers.ts";
import { generateKey, loadSigner } from "../src/trust/mod.ts";

const TOPIC = "ggen/packages/announce";

/** Peers in the topic mesh (the GossipSub class has it; its interface type does not) */
function meshSize(pubsub: unknown): number {
  return (pubsub as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC).length;
}

/** Wait for a condition, checking every 50 ms, at most 10 s */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within 10 s`);
}

Deno.test("gossip: 100 invalid announcements get the sender graylisted; its later messages are dropped", async () => {
  await using work = await tempDir();
  const node = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "ggen")));
  const attacker = await createStockPeer();
  try {
    attacker.services.pubsub.subscribe(TOPIC);
    await attacker.dial(multiaddr(node.listenAddrs[0]!));
    // Publish once the node is in the attacker's mesh for the topic (grafted on a heartbeat)
    await waitUntil("the attacker's mesh", () => meshSize(attacker.services.pubsub) > 0);
    const started = performance.now();
    let sent = 0;
    let bannedAfter = -1;
    for (let i = 0; i < 100; i++) {
      await attacker.services.pubsub.publish(
        TOPIC,
        new TextEncoder().encode(JSON.stringify({ type: "publish", junk: i })),
      ).catch(() => {});
      sent++;
      if (bannedAfter < 0 && (await node.banned()).includes(attacker.peerId.toString())) {
        bannedAfter = performance.now() - started;
      }
    }
    for (let i = 0; i < 50 && bannedAfter < 0; i++) {
      if ((await node.banned()).includes(attacker.peerId.toString())) bannedAfter = performance.now() - started;
      else await new Promise((r) => setTimeout(r, 100));
    }
    // An honest peer in the mesh: its announcement, sent after the attacker's, is the barrier
    const honest = await createStockPeer();
    honest.services.pubsub.subscribe(TOPIC);
    await honest.dial(multiaddr(node.listenAddrs[0]!));
    await waitUntil("the honest peer's mesh", () => meshSize(honest.services.pubsub) > 0);
    // A valid, publisher-signed announcement from the same peer after the flood
    await generateKey(work.path, "publisher");
    const publisher = await loadSigner(work.path, "publisher");
    const valid = await signedAnnouncement(publisher, "io.gossip.after", attacker.peerId.toString());
    await attacker.services.pubsub.publish(TOPIC, new TextEncoder().encode(JSON.stringify(valid))).catch(() => {});
    try {
      // Control: the same announcement from an honest peer is processed; once it is, anything the
      // attacker sent before it would have been processed too
      const mine = await signedAnnouncement(publisher, "io.gossip.honest", honest.peerId.toString());
      await honest.services.pubsub.publish(TOPIC, new TextEncoder().encode(JSON.stringify(mine)));
      await waitUntil("the honest announcement", async () => (await node.search("io.gossip.honest", 5)).length === 1);
    } finally {
      await honest.stop();
    }
    const processed = (await node.search("io.gossip.after", 5)).filter((e) =>
      e.package_id === "io.gossip.after"
    ).length;
    const connected = (await node.peers()).some((p) => p.peerId === attacker.peerId.toString());
    console.log(
      `  ${sent} invalid announcements: sender banned and graylisted after ${
        bannedAfter.toFixed(0)
      } ms; still connected: ${connected}; later messages processed: ${processed}`,
    );
    await recordFigure(
      "gossip-flood",
      String(
        `  ${sent} invalid announcements: sender banned and graylisted after ${
          bannedAfter.toFixed(0)
        } ms; still connected: ${connected}; later messages processed: ${processed}`,
      ).trim(),
    );
    assert.ok(bannedAfter >= 0, "the flooding peer was never banned");
    assert.equal(processed, 0);
    assert.equal(connected, false);
  } finally {
    await attacker.stop();
    await node.stop();
  }
});
