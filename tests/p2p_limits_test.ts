/**
 * Connection limits and access control: a per-IP cap in the connection gater, a flood of
 * half-open sockets, deny and allow lists, and bans that survive a restart.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import net from "node:net";
import { silentLogger } from "../src/core/logger.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import { ggen, jsonLines, tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { startDaemon } from "./p2p_helpers.ts";

/**
 * Open `n` raw TCP sockets from `from` (another loopback address, so the attacker is a different
 * IP than the test's legitimate peers) that never speak; returns how many the node kept open
 */
async function flood(
  port: number,
  n: number,
  waitMs: number,
  from = "127.0.0.2",
): Promise<{ kept: number; close(): void }> {
  const sockets: net.Socket[] = [];
  const closed = new Set<net.Socket>();
  await Promise.all(Array.from({ length: n }, () =>
    new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => resolve());
      s.on("error", () => resolve());
      s.on("close", () => closed.add(s));
      sockets.push(s);
    })));
  await new Promise((r) => setTimeout(r, waitMs));
  return { kept: sockets.filter((s) => !closed.has(s)).length, close: () => sockets.forEach((s) => s.destroy()) };
}

Deno.test("p2p limits: per-IP cap, half-open flood, deny/allow lists", async (t) => {
  await using work = await tempDir();
  await t.step("100 connections from one IP: at most the cap (8) are kept", async () => {
    const node = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "capped"), { maxConnectionsPerIp: 8 }),
    );
    try {
      const port = Number(node.listenAddrs[0]!.split("/")[4]);
      const { kept, close } = await flood(port, 100, 500);
      const denied = (await node.status()).inboundDenied;
      console.log(
        `  per-IP cap 8: 100 connections from 127.0.0.2, ${kept} kept, ${denied} refused by the gater, the rest by libp2p's rate limit`,
      );
      await recordFigure(
        "connection-flood",
        String(
          `  per-IP cap 8: 100 connections from 127.0.0.2, ${kept} kept, ${denied} refused by the gater, the rest by libp2p's rate limit`,
        ).trim(),
      );
      assert.ok(kept <= 8, `${kept} kept`);
      close();
    } finally {
      await node.stop();
    }
  });

  await t.step("1,000 half-open sockets: the node keeps serving and its memory stays bounded", async () => {
    const node = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "flooded"), { maxConnectionsPerIp: 8 }),
    );
    const peer = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "legit")));
    try {
      const port = Number(node.listenAddrs[0]!.split("/")[4]);
      const before = Deno.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
      const { kept, close } = await flood(port, 1000, 500);
      let served = false;
      for (let i = 0; i < 30 && !served; i++) {
        await peer.dial(node.listenAddrs[0]!).catch(() => {});
        served = (await node.peers()).some((p) => p.peerId === peer.peerId);
        if (!served) await new Promise((r) => setTimeout(r, 100));
      }
      clearInterval(sampler);
      console.log(
        `  1,000 half-open sockets from one IP: ${kept} kept; peak RSS of the test process ${
          (peak / 1024 / 1024).toFixed(0)
        } MB (+${((peak - before) / 1024 / 1024).toFixed(0)} MB); a legitimate peer still connected: ${served}`,
      );
      await recordFigure(
        "half-open",
        String(
          `  1,000 half-open sockets from one IP: ${kept} kept; peak RSS of the test process ${
            (peak / 1024 / 1024).toFixed(0)
          } MB (+${((peak - before) / 1024 / 1024).toFixed(0)} MB); a legitimate peer still connected: ${served}`,
        ).trim(),
      );
      assert.ok(served);
      assert.ok(kept <= 8);
      close();
    } finally {
      await peer.stop();
      await node.stop();
    }
  });

  await t.step("deny list and allow ranges refuse peers", async () => {
    const b = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "b")));
    const denying = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "deny"), { denyPeers: [b.peerId] }),
    );
    const lan = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "lan"), { allowRanges: ["10.0.0.0/8"] }),
    );
    try {
      await b.dial(denying.listenAddrs[0]!).catch(() => {});
      await b.dial(lan.listenAddrs[0]!).catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await denying.peers()).length, 0);
      assert.equal((await lan.peers()).length, 0);
      assert.equal((await b.peers()).length, 0);
      await recordFigure("closed-network", "a denied PeerId and an address outside the allowed ranges: 0 connections");
    } finally {
      await Promise.all([b.stop(), denying.stop(), lan.stop()]);
    }
  });
});

Deno.test("p2p: ggen p2p ban and unban, and bans survive a restart", async () => {
  await using work = await tempDir();
  const a = await startDaemon(join(work.path, "a"));
  let b = await startDaemon(join(work.path, "b"), { bootstrap: [a.addr] });
  try {
    const ban = await ggen(["p2p", "ban", a.peerId, "--json"], { home: b.home });
    assert.equal(ban.code, 0, ban.stderr);
    let peers = jsonLines<{ peer_id: string; banned?: boolean }>(
      (await ggen(["p2p", "peers", "--json"], { home: b.home })).stdout,
    );
    assert.ok(peers.some((p) => p.peer_id === a.peerId && p.banned));
    await b.stop();
    b = await startDaemon(join(work.path, "b"), { bootstrap: [a.addr] });
    peers = jsonLines((await ggen(["p2p", "peers", "--json"], { home: b.home })).stdout);
    assert.ok(peers.some((p) => p.peer_id === a.peerId && p.banned), "ban lost on restart");
    await recordFigure("reputation", "a ban set with `ggen p2p ban` survived a daemon restart; unban lifted it");
    assert.ok(!peers.some((p) => p.peer_id === a.peerId && !p.banned), "a banned peer is connected");
    assert.equal((await ggen(["p2p", "unban", a.peerId], { home: b.home })).code, 0);
    peers = jsonLines((await ggen(["p2p", "peers", "--json"], { home: b.home })).stdout);
    assert.ok(!peers.some((p) => p.banned));
  } finally {
    await a.stop();
    await b.stop();
  }
});
