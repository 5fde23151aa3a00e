/**
 * An eclipsed node (connected only to peers that hold nothing, or that do not answer) must not
 * say a bare "not found": the error counts the peers asked, those that answer and those silent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPeers } from "../src/p2p/mod.ts";
import { NotFoundError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import { createP2PRegistry } from "../src/registry/client/mod.ts";
import { recordFigure } from "./figures.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { createStockPeer } from "./stock_peer.ts";

Deno.test("eclipse: 'not found' says how many peers were asked and how many answer", async () => {
  await using work = await tempDir();
  const attackers = await Promise.all([createStockPeer(), createStockPeer()]);
  const victim = await startWorkerNode(
    { logger: silentLogger },
    loopbackNodeInit(join(work.path, "victim"), {
      bootstrap: attackers.map((a) => a.getMultiaddrs()[0]!.toString()),
    }),
  );
  try {
    await waitForPeers(victim, 2, 5000);
    const registry = createP2PRegistry({ logger: silentLogger, node: victim }, { peerId: victim.peerId });
    const err = await registry.info("io.eclipse.pkg").then(() => undefined, (e: Error) => e);
    assert.ok(err instanceof NotFoundError, `expected NotFoundError, got ${err}`);
    assert.match(err.message, /asked 2 connected peers \(2 answer, 0 silent\)/);
    assert.match(err.message, /bootstrap peer you trust/);
    await recordFigure("eclipse-message", err.message.replace(/^.*: asked/, "asked"));
  } finally {
    await victim.stop();
    await Promise.all(attackers.map((a) => a.stop()));
  }
});
