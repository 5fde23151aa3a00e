import assert from "node:assert/strict";
import { join } from "node:path";
import type { Stream } from "@libp2p/interface";
import { StallError } from "../../src/core/mod.ts";
import { loopbackNodeInit } from "../../tests/node_init.ts";
import { startP2PService } from "./service.ts";
import { askQuorum, bytesOf, sendAll, withStallTimer, WRITE_HIGH_WATER_BYTES } from "./streams.ts";

Deno.test("withStallTimer: a stall is a StallError (an UnavailableError), an abort is the abort", async () => {
  const never = new Promise<never>(() => {});
  await assert.rejects(withStallTimer(never, 20, new AbortController().signal, "peer x"), (err) => {
    assert.ok(err instanceof StallError);
    assert.equal((err as Error).name, "StallError");
    return true;
  });
  const controller = new AbortController();
  const pending = withStallTimer(never, 10_000, controller.signal, "peer x");
  controller.abort(new DOMException("Cancelled", "AbortError"));
  await assert.rejects(pending, (err) => (err as Error).name === "AbortError");
  assert.equal(await withStallTimer(Promise.resolve(7), 1000, new AbortController().signal, "x"), 7);
});

Deno.test("askQuorum: all answers when all are quick; a straggler is cut off after the quorum's window", async () => {
  const delays = [5, 10, 15, 60_000];
  const ask = (ms: number, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve(`after ${ms}`), ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  const signal = new AbortController().signal;
  assert.deepEqual(
    await askQuorum(delays.slice(0, 3), ask, { signal, quorum: 2, windowMs: 10_000, missing: "none" }),
    ["after 5", "after 10", "after 15"],
  );
  // Half answered, then the window: the silent peer is aborted and missing, not waited for
  assert.deepEqual(
    await askQuorum(delays, ask, { signal, quorum: 2, windowMs: 30, missing: "none" }),
    ["after 5", "after 10", "after 15", "none"],
  );
  // A peer that fails counts as answered and as missing
  assert.deepEqual(
    await askQuorum([1, 2], (n) => n === 1 ? Promise.reject(new Error("refused")) : Promise.resolve("ok"), {
      signal,
      quorum: 2,
      windowMs: 10_000,
      missing: "none",
    }),
    ["none", "ok"],
  );
});

Deno.test("askQuorum: only the answers that count reach the quorum", async () => {
  const signal = new AbortController().signal;
  // Two quick "not held" answers do not end the wait; the slower document does, then the window
  const answers = await askQuorum(
    [1, 2, 40, 60_000],
    (ms, s) =>
      new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms < 10 ? undefined : `doc after ${ms}`), ms);
        s.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(s.reason);
        }, { once: true });
      }),
    { signal, quorum: 1, windowMs: 30, missing: undefined, counts: (a) => a !== undefined },
  );
  assert.deepEqual(answers, [undefined, undefined, "doc after 40", undefined]);
});

/**
 * Two in-process P2P services on loopback: `reader` handles `protocol` on one, `writer` gets a
 * stream to it from the other
 */
async function overLoopback(
  protocol: string,
  reader: (stream: Stream) => Promise<void>,
  writer: (stream: Stream) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const start = (name: string) =>
    startP2PService({ log: () => {}, post: () => {} }, loopbackNodeInit(join(dir, name), {}));
  const [a, b] = [await start("a"), await start("b")];
  try {
    await b.node.handle(protocol, reader);
    await writer(
      await a.node.dialProtocol(b.node.getMultiaddrs()[0]!, protocol, { signal: AbortSignal.timeout(10_000) }),
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "sendAll: a fast writer waits for the stream, so its unsent bytes stay bounded and every byte arrives",
  // libp2p keeps sockets in TIME_WAIT bookkeeping a moment after stop
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const received = Promise.withResolvers<number>();
    const chunk = new Uint8Array(256 * 1024);
    const chunks = 128; // 32 MiB, written as fast as sendAll lets it
    let mostQueued = 0;
    await overLoopback("/ggen-test/sink/1.0.0", async (stream) => {
      let total = 0;
      for await (const piece of bytesOf(stream)) total += piece.byteLength;
      received.resolve(total);
    }, async (stream) => {
      const signal = AbortSignal.timeout(60_000);
      for (let i = 0; i < chunks; i++) {
        await sendAll(stream, chunk.slice(), signal);
        mostQueued = Math.max(mostQueued, stream.writeBufferLength);
      }
      await stream.close({ signal });
      assert.equal(await received.promise, chunks * chunk.byteLength);
    });
    // Trusting onDrain() alone queued most of the 32 MiB here (a whole file in a serve)
    assert.ok(
      mostQueued <= WRITE_HIGH_WATER_BYTES,
      `at most ${WRITE_HIGH_WATER_BYTES} bytes wait unsent after sendAll returns, saw ${mostQueued}`,
    );
  },
});

Deno.test({
  name: "bytesOf: a slow reader pauses the stream, so the sender cannot run far ahead of it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const total = 128 * 1024 * 1024;
    let read = 0;
    let mostAhead = 0;
    const received = Promise.withResolvers<void>();
    await overLoopback("/ggen-test/slow-sink/1.0.0", async (stream) => {
      // A reader slower than loopback: a download limit or a slow disk behind it
      for await (const piece of bytesOf(stream)) {
        read += piece.byteLength;
        await new Promise((r) => setTimeout(r, 10));
      }
      received.resolve();
    }, async (stream) => {
      const chunk = new Uint8Array(256 * 1024);
      const signal = AbortSignal.timeout(120_000);
      for (let sent = 0; sent < total;) {
        await sendAll(stream, chunk.slice(), signal);
        sent += chunk.byteLength;
        mostAhead = Math.max(mostAhead, sent - read);
      }
      await stream.close({ signal });
      await received.promise;
    });
    assert.equal(read, total);
    // yamux's largest window (16 MiB), the reader's and the writer's high-water marks and the
    // sockets' buffers; libp2p's own iterator let the sender run the whole 128 MiB ahead
    assert.ok(mostAhead <= 48 * 1024 * 1024, `the sender ran ${mostAhead} bytes ahead of the reader`);
  },
});
