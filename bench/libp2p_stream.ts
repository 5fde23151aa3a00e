/**
 * The floor under a P2P fetch: stock js-libp2p (TCP, noise, yamux, the versions ggen pins) moving
 * bytes on one stream between two processes, no ggen code, the receiver hashing what arrives.
 * `bench/p2p_measure.ts` runs it beside raw TCP and ggen's fetch, so the results show how much of
 * a fetch's time the libp2p stack itself takes. Run as a script, it is the sending side:
 * `deno run ... bench/libp2p_stream.ts BYTES` prints its address and serves BYTES per stream.
 * @module
 */
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { FETCH_CHUNK_BYTES } from "../src/core/constants.ts";
import { randomBytes, RUN_FLAGS } from "../tests/helpers.ts";

const PROTOCOL = "/ggen-bench/stream/1.0.0";
/** What the sender writes at a time: ggen's fetch chunk */
const CHUNK = FETCH_CHUNK_BYTES;

const stockNode = (listen: string[]): Promise<Libp2p> =>
  createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });

/** A sender in its own process and a receiver here; each `transfer()` times one stream end to end */
export async function startStockPair(bytes: number): Promise<AsyncDisposable & { transfer(): Promise<number> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, fileURLToPath(import.meta.url), String(bytes)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the stock libp2p sender exited before printing its address");
    line += value;
  }
  const addr = multiaddr(line.trim());
  const receiver = await stockNode([]);
  return {
    async transfer() {
      const t0 = performance.now();
      const stream = await receiver.dialProtocol(addr, PROTOCOL);
      const hash = createHash("sha256");
      let received = 0;
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
        hash.update(bytes);
        received += bytes.byteLength;
      }
      hash.digest();
      await stream.close();
      if (received !== bytes) throw new Error(`stock libp2p stream delivered ${received} of ${bytes} bytes`);
      return performance.now() - t0;
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await receiver.stop();
      await reader.cancel().catch(() => {});
    },
  };
}

if (import.meta.main) {
  const total = Number(Deno.args[0]);
  const data = randomBytes(CHUNK);
  const sender = await stockNode(["/ip4/127.0.0.1/tcp/0"]);
  await sender.handle(PROTOCOL, async (stream) => {
    for (let at = 0; at < total; at += CHUNK) {
      // A fresh buffer per send, as a file read would give
      if (!stream.send(data.slice(0, Math.min(CHUNK, total - at)))) await stream.onDrain();
    }
    await stream.close();
  });
  console.log(sender.getMultiaddrs()[0]!.toString());
  Deno.addSignalListener("SIGTERM", () => void Promise.resolve(sender.stop()).finally(() => Deno.exit(0)));
}
