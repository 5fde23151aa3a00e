/**
 * The fetch protocol under a stream flood: a stock js-libp2p peer opens 1,000 fetch streams on one
 * connection. At most the stream limit is accepted (the rest are reset) and the per-peer token
 * bucket answers the excess with a refusal instead of bytes.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import { encodeFrame, type FetchResponseHeader, readFrame } from "../src/p2p/fetch_wire.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import { randomBytes, tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";

Deno.test("fetch protocol: 1,000 streams on one connection, at most the limit accepted, the rest reset", async () => {
  await using work = await tempDir();
  const blob = randomBytes(4 * 1024 * 1024);
  const sha = sha256Hex(blob);
  await Deno.mkdir(join(work.path, "server", "cache", "sha256"), { recursive: true });
  await Deno.writeFile(join(work.path, "server", "cache", "sha256", sha), blob);
  const server = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "server")));
  const stock = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxInboundStreams: 2000, maxOutboundStreams: 2000 } as never)],
  });
  try {
    const connection = await stock.dial(multiaddr(server.listenAddrs[0]!));
    let served = 0;
    let refused = 0;
    let reset = 0;
    const open: { close(): void }[] = [];
    await Promise.all(Array.from({ length: 1000 }, async () => {
      try {
        const stream = await connection.newStream(
          "/ggen/fetch/1.0.0",
          { maxOutboundStreams: 2000, signal: AbortSignal.timeout(10_000) } as never,
        );
        stream.send(encodeFrame({ sha256: sha }));
        const it = (async function* () {
          for await (const c of stream) yield c instanceof Uint8Array ? c : c.subarray();
        })();
        const { frame } = await readFrame<FetchResponseHeader>(it[Symbol.asyncIterator]());
        if (frame.ok) {
          served++;
          // Hold the stream without reading: it stays open and counts against the limit
          open.push({ close: () => stream.abort(new Error("done")) });
        } else refused++;
      } catch {
        reset++;
      }
    }));
    console.log(
      `  1,000 fetch streams on one connection: ${served} served, ${refused} refused by the per-peer rate limit, ${reset} reset`,
    );
    await recordFigure(
      "stream-flood",
      String(
        `  1,000 fetch streams on one connection: ${served} served, ${refused} refused by the per-peer rate limit, ${reset} reset`,
      ).trim(),
    );
    assert.ok(served <= 16, `${served} served concurrently`);
    assert.ok(served > 0, "the limit still serves some streams");
    assert.ok(reset >= 1000 - 16 - 32);
    for (const s of open) s.close();

    // One after another: the per-peer token bucket (burst 32, then 10/s) refuses the excess
    let sequentialServed = 0;
    let sequentialRefused = 0;
    for (let i = 0; i < 100; i++) {
      const stream = await connection.newStream("/ggen/fetch/1.0.0");
      stream.send(encodeFrame({ sha256: sha, offset: blob.length - 1 }));
      const it = (async function* () {
        for await (const c of stream) yield c instanceof Uint8Array ? c : c.subarray();
      })();
      const { frame } = await readFrame<FetchResponseHeader>(it[Symbol.asyncIterator]());
      if (frame.ok) sequentialServed++;
      else sequentialRefused++;
      stream.abort(new Error("done"));
    }
    console.log(
      `  100 sequential fetch requests: ${sequentialServed} served, ${sequentialRefused} refused by the per-peer token bucket`,
    );
    await recordFigure(
      "stream-sequential",
      String(
        `  100 sequential fetch requests: ${sequentialServed} served, ${sequentialRefused} refused by the per-peer token bucket`,
      ).trim(),
    );
    assert.ok(sequentialRefused > 0);
    assert.ok(sequentialServed < 100);
  } finally {
    await stock.stop();
    await server.stop();
  }
});
