import assert from "node:assert/strict";
import { silentLogger } from "../core/logger.ts";
import { UnavailableError, ValidationError } from "../core/errors.ts";
import { startWorkerNode, type WorkerNode } from "./client.ts";
import { loopbackNodeInit } from "../../tests/node_init.ts";

async function withNode(fn: (node: WorkerNode, home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir();
  const node = await startWorkerNode(
    { logger: silentLogger },
    loopbackNodeInit(home, { maxConnections: 10, requestTimeoutMs: 2000 }),
  );

  try {
    await fn(node, home);
  } finally {
    await node.stop();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("WorkerNode keeps its PeerId in identity.key (0600) across restarts", async () => {
  const home = await Deno.makeTempDir();
  try {
    const init = loopbackNodeInit(home);

    const first = await startWorkerNode({ logger: silentLogger }, init);
    const id = first.peerId;
    await first.stop();
    assert.equal((await Deno.stat(`${home}/identity.key`)).mode! & 0o777, 0o600);
    const second = await startWorkerNode({ logger: silentLogger }, init);
    assert.equal(second.peerId, id);
    await second.stop();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("WorkerNode errors come back as typed errors, never hangs", async (t) => {
  await withNode(async (node) => {
    await t.step("invalid record is refused before it leaves the node", async () => {
      await assert.rejects(node.putRecord("/ggen/io.x.y/1.0.0", "{}"), ValidationError);
    });
    await t.step("fetch from an unknown peer fails", async () => {
      await assert.rejects(
        node.fetch("12D3KooWGRUVh7ZnHbQ1ZB7kYEWSCbhZLyNeqFNm9HLqnKLEDBVf", "a".repeat(64), { stallMs: 500 }),
        (err: Error) => err instanceof Error && err.message.length > 0,
      );
    });
    await t.step("an aborted request rejects with the abort reason", async () => {
      const controller = new AbortController();
      const pending = node.findProviders("b".repeat(64), { signal: controller.signal });
      controller.abort(new DOMException("stop", "AbortError"));
      await assert.rejects(pending, (err: Error) => err.name === "AbortError");
    });
    await t.step("status answers with the node's facts", async () => {
      const s = await node.status();
      assert.equal(s.peerId, node.peerId);
      assert.equal(s.peerCount, 0);
      assert.ok(s.listenAddrs.length > 0);
    });
  });
});

Deno.test("WorkerNode requests after stop fail with UnavailableError", async () => {
  let stopped: WorkerNode | undefined;
  await withNode((node) => {
    stopped = node;
    return Promise.resolve();
  });
  await assert.rejects(stopped!.status(), UnavailableError);
});

Deno.test("WorkerNode fetches a whole blob and a byte range from a peer", async () => {
  await withNode(async (server, serverHome) => {
    const blob = new Uint8Array(300_000).map((_, i) => i % 251);
    const { sha256Hex } = await import("../core/digest.ts");
    const sha = sha256Hex(blob);
    await Deno.mkdir(`${serverHome}/cache/sha256`, { recursive: true });
    await Deno.writeFile(`${serverHome}/cache/sha256/${sha}`, blob);
    await withNode(async (client) => {
      await client.dial(server.listenAddrs[0]!);
      const read = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());
      assert.deepEqual(await read(await client.fetch(server.peerId, sha)), blob);
      assert.deepEqual(
        await read(await client.fetch(server.peerId, sha, { offset: 1000, length: 5000 })),
        blob.subarray(1000, 6000),
      );
      await assert.rejects(client.fetch(server.peerId, "e".repeat(64)), /cannot serve/);
    });
  });
});
