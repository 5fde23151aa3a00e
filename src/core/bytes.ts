/**
 * Reading a whole byte stream with a size cap, shared by the server (request bodies) and the
 * central client (metadata documents).
 * @module
 */

/** `bytes` random bytes as lower-case hex (secrets, tokens, nonces) */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
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
