/**
 * Wire format of `/ggen/fetch/1.0.0` and `/ggen/catalog/1.0.0`: a frame is a 4-byte big-endian
 * length and that many bytes of JSON. A fetch request is one frame `{ sha256, offset?, length? }`;
 * the response is one frame `{ ok, total, offset, length }` (or `{ ok: false, error }`) followed
 * by exactly `length` raw bytes.
 * @module
 */

/** Largest frame accepted */
export const MAX_FRAME_BYTES = 64 * 1024;

/** A fetch request */
export interface FetchRequest {
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Byte offset to start at */
  offset?: number;
  /** Bytes to send from the offset */
  length?: number;
}

/** The response header of a fetch */
export type FetchResponseHeader =
  | { ok: true; total: number; offset: number; length: number }
  | { ok: false; error: string };

/** Encode one frame */
export function encodeFrame(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/**
 * Read one frame from the start of a byte iterator; returns the frame and the bytes after it.
 * @throws {RangeError} for an oversized frame, {SyntaxError} for bad JSON
 */
export async function readFrame<T>(
  source: AsyncIterator<Uint8Array>,
): Promise<{ frame: T; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  while (true) {
    if (buf.byteLength >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
      if (len > MAX_FRAME_BYTES) throw new RangeError(`Frame of ${len} bytes exceeds ${MAX_FRAME_BYTES}`);
      if (buf.byteLength >= 4 + len) {
        const frame = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + len))) as T;
        return { frame, rest: buf.slice(4 + len) };
      }
    }
    const { done, value } = await source.next();
    if (done) throw new RangeError("Stream ended before a complete frame");
    const next = new Uint8Array(buf.byteLength + value.byteLength);
    next.set(buf);
    next.set(value, buf.byteLength);
    buf = next;
  }
}
