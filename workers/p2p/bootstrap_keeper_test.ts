/**
 * A node whose bootstrap peer is down when it starts reaches it once the bootstrap peer is back
 * (same identity, same port), and again after the bootstrap peer restarts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loopbackNodeInit } from "../../tests/node_init.ts";
import { type P2PService, startP2PService } from "./service.ts";

async function connectedWithin(a: P2PService, peerId: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (a.node.getConnections().some((c) => c.remotePeer.toString() === peerId)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

Deno.test({
  name: "bootstrap keeper: a bootstrap peer down at start, or restarted, is dialled again",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const services: P2PService[] = [];
    const start = async (name: string, bootstrap: string[] = [], port = 0) => {
      const s = await startP2PService(
        { log: () => {}, post: () => {} },
        loopbackNodeInit(join(dir, name), { bootstrap, listenAddrs: [`/ip4/127.0.0.1/tcp/${port}`] }),
      );
      services.push(s);
      return s;
    };
    try {
      // Learn the bootstrap node's identity and port, then take it down
      let boot = await start("boot");
      const addr = boot.node.getMultiaddrs()[0]!.toString();
      const port = Number(addr.split("/")[4]);
      const bootId = boot.node.peerId.toString();
      await boot.stop();

      const client = await start("client", [addr]);
      assert.equal(await connectedWithin(client, bootId, 500), false, "connected to a stopped node");
      boot = await start("boot", [], port);
      assert.equal(boot.node.peerId.toString(), bootId);
      assert.ok(await connectedWithin(client, bootId, 10_000), "the client never reached its bootstrap peer");

      // The bootstrap node restarts: the client comes back without being told
      await boot.stop();
      boot = await start("boot", [], port);
      assert.ok(await connectedWithin(client, bootId, 10_000), "the client did not reconnect after a restart");
    } finally {
      await Promise.all(services.map((s) => s.stop().catch(() => {})));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
