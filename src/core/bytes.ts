/**
 * Bytes: hex, random hex, base64, concatenation, and reading a whole byte stream with a size cap
 * (shared by the server's request bodies and the central client's metadata documents). It
 * imports nothing beyond core's errors, as the CLI's start-up path uses it.
 * @module
 */
import { TrustError } from "./errors.ts";

/** `bytes` as lower-case hex */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `bytes` random bytes as lower-case hex (secrets, tokens, nonces) */
export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Join chunks into one buffer */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Options of {@link readAllLimited} */
export interface ReadLimitedOptions {
  /** Most bytes accepted */
  limit: number;
  /** The error to throw once `limit` is passed, given how many bytes were read */
  tooLarge: (bytesRead: number) => Error;
  /** Give up after this long; the error gets how many bytes were read */
  deadline?: { ms: number; error: (bytesRead: number) => Error };
}

/**
 * Read a stream to its end, stopping (and cancelling it) as soon as it passes the limit.
 * @throws the `tooLarge` or `deadline` error
 */
export async function readAllLimited(body: ReadableStream<Uint8Array>, o: ReadLimitedOptions): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timedOut = false;
  const timer = o.deadline
    ? setTimeout(() => {
      timedOut = true;
      void reader.cancel();
    }, o.deadline.ms)
    : undefined;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > o.limit) {
        await reader.cancel();
        throw o.tooLarge(total);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut && o.deadline) throw o.deadline.error(total);
  return concatBytes(chunks);
}

/** base64 of bytes */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** bytes of base64 */
export function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new TrustError("Invalid signature encoding: not base64");
  }
}
