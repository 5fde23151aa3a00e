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
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { FETCH_CHUNK_BYTES } from "../src/core/constants.ts";
import { randomBytes, runFlags } from "../tests/helpers.ts";

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
    // A sender with a daemon's flags: it stands for the daemon that serves
    args: ["run", "--quiet", ...runFlags(["p2p", "start"]), fileURLToPath(import.meta.url), String(bytes)],
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

/** Noise's largest message: 65,535 bytes on the wire, 16 of them the tag */
const NOISE_MAX_PLAINTEXT = 65_535 - 16;

/**
 * The cipher under every noise stream, alone: `bytes` sealed, then opened, in noise's largest
 * messages with ChaCha20-Poly1305 through node:crypto, the calls @chainsafe/libp2p-noise makes for
 * messages of 1,200 bytes and more (a cipher object per message). One core; a transfer's sender
 * pays the sealing and its receiver the opening. Returns the milliseconds of each.
 */
export function noiseCipherMs(bytes: number): { seal: number; open: number } {
  const key = randomBytes(32);
  const plaintext = randomBytes(NOISE_MAX_PLAINTEXT);
  const nonce = (n: number) => {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(4, n, true);
    return iv;
  };
  const messages = Math.ceil(bytes / NOISE_MAX_PLAINTEXT);
  const sealed: Uint8Array[] = [];
  let t0 = performance.now();
  for (let n = 0; n < messages; n++) {
    const cipher = createCipheriv("chacha20-poly1305", key, nonce(n), { authTagLength: 16 });
    cipher.setAAD(new Uint8Array(0), { plaintextLength: plaintext.byteLength });
    const body = cipher.update(plaintext);
    const message = Buffer.concat([body, cipher.final(), cipher.getAuthTag()]);
    // One message kept per 64: opening needs real ones, and 100 MiB of them would weigh on the GC
    if (n % 64 === 0) sealed.push(message);
  }
  const seal = performance.now() - t0;
  t0 = performance.now();
  for (let n = 0; n < messages; n++) {
    const message = sealed[Math.floor(n / 64)]!;
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce(64 * Math.floor(n / 64)), {
      authTagLength: 16,
    });
    decipher.setAAD(new Uint8Array(0), { plaintextLength: message.byteLength - 16 });
    decipher.setAuthTag(message.subarray(message.byteLength - 16));
    decipher.update(message.subarray(0, message.byteLength - 16));
    decipher.final();
  }
  return { seal, open: performance.now() - t0 };
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
