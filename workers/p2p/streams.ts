/**
 * Stream helpers shared by the worker's protocols: bytes of a libp2p stream, a read with a
 * stall timer, and a send that respects back-pressure.
 * @module
 */
import { type PeerId, type Stream, StreamStateError } from "@libp2p/interface";
import { StallError } from "../../src/core/mod.ts";
import { encodeFrame, readFrame } from "../../src/p2p/mod.ts";
import type { P2PLibp2p } from "./types.ts";

/** Bytes received and not yet read past which a reader pauses the stream; it resumes at half */
export const READ_HIGH_WATER_BYTES = 2 * 1024 * 1024;
/**
 * The most a paused stream can still receive: what is left of yamux's receive window, at most
 * its 16 MiB maximum (a peer sending more breaks yamux's flow control and is cut off by it)
 */
const PAUSED_READ_BUFFER_BYTES = 16 * 1024 * 1024 + READ_HIGH_WATER_BYTES;

/**
 * Bytes of a stream, as plain Uint8Arrays, with back-pressure: a reader that lags (a download
 * limit, a slow disk, the main thread's credit) pauses the stream, and yamux stops granting the
 * sender window until it resumes. libp2p's own iterator queues without bound: yamux grants
 * window as data arrives, so a limited download still came in at the link's full speed.
 */
export async function* bytesOf(stream: Stream): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let failure: Error | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  const onMessage = (evt: Event) => {
    // A Uint8Array, or a Uint8ArrayList of several
    const data = (evt as Event & { data: Uint8Array | { subarray(): Uint8Array } }).data;
    const chunk = data instanceof Uint8Array ? data : data.subarray();
    queue.push(chunk);
    queued += chunk.byteLength;
    if (queued > READ_HIGH_WATER_BYTES && stream.readStatus === "readable") {
      // What the sender may still send lands in the stream's own buffer, which must hold it
      stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_BUFFER_BYTES);
      stream.pause();
    }
    wake?.();
  };
  const onEnd = () => wake?.();
  const onClose = (evt: Event) => {
    closed = true;
    failure = (evt as Event & { error?: Error }).error;
    wake?.();
  };
  stream.addEventListener("message", onMessage);
  stream.addEventListener("end", onEnd);
  stream.addEventListener("close", onClose);
  try {
    // Bounded: each turn yields a chunk or waits for an event of the stream
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.byteLength;
        if (queued <= READ_HIGH_WATER_BYTES / 2 && stream.readStatus === "paused") stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      // The remote finished writing and everything it sent was read (nothing is left paused)
      if (stream.readableEnded || closed || stream.readStatus === "closed") return;
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
  } finally {
    stream.removeEventListener("message", onMessage);
    stream.removeEventListener("end", onEnd);
    stream.removeEventListener("close", onClose);
  }
}

/**
 * `promise`, unless nothing arrives within `ms` ({@link StallError}) or `signal` aborts first.
 * @throws {StallError}
 */
export function withStallTimer<T>(promise: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal.reason));
    const timer = setTimeout(() => finish(() => reject(new StallError(`${what}: no data for ${ms} ms`))), ms);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      fn();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((v) => finish(() => resolve(v)), (e) => finish(() => reject(e)));
  });
}

/** Bytes a stream may hold unsent before its writer waits: the fetch protocol's chunks keep flowing */
export const WRITE_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Send `data`, then wait while more than {@link WRITE_HIGH_WATER_BYTES} are queued unsent. Not
 * `stream.onDrain()`: @libp2p/utils 7.4.1 keeps the promise of a stream's first drain, so every
 * later `onDrain()` resolves at once, and yamux announces a drain on each window update however
 * much is still queued. A writer that trusted either queued a whole file in the stream: 44 MB of
 * a 100 MiB serve sat in one yamux write buffer (heap snapshot of a daemon, bench:p2p).
 * @throws the stream's error when it closes first, or `signal`'s reason
 */
export async function sendAll(stream: Stream, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  stream.send(data);
  // Bounded: each turn waits for an event of the stream (it drains, closes, or the signal fires)
  while (stream.writeBufferLength > WRITE_HIGH_WATER_BYTES) await nextDrain(stream, signal);
}

/** The stream's next `drain` event; rejects when it closes first or `signal` aborts */
function nextDrain(stream: Stream, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => finish(resolve);
    const onClose = (evt: Event) =>
      finish(() =>
        reject((evt as Event & { error?: Error }).error ?? new StreamStateError("Stream closed while sending"))
      );
    const onAbort = () => finish(() => reject(signal!.reason));
    const finish = (fn: () => void) => {
      stream.removeEventListener("drain", onDrain);
      stream.removeEventListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    if (signal?.aborted) return onAbort();
    // Gone already: its close event has passed (while writable, a half-closed stream still drains)
    if (stream.status === "closed" || stream.status === "aborted" || stream.status === "reset") {
      return onClose(new Event("close"));
    }
    stream.addEventListener("drain", onDrain);
    stream.addEventListener("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * One request and its one-frame answer on a new stream of `protocol`: send the request,
 * half-close, read the answer within `timeoutMs` (dial included), then drop the stream.
 * @throws {StallError} when the answer does not come in time; the dial's and the stream's errors
 */
export async function exchange<T>(
  node: P2PLibp2p,
  peer: PeerId,
  protocol: string,
  request: unknown,
  o: { timeoutMs: number; signal: AbortSignal; what: string },
): Promise<T> {
  const signal = AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]);
  const stream = await node.dialProtocol(peer, protocol, { signal });
  stream.send(encodeFrame(request));
  await stream.close({ signal });
  const { frame } = await withStallTimer(
    readFrame<T>(bytesOf(stream)[Symbol.asyncIterator]()),
    o.timeoutMs,
    signal,
    o.what,
  );
  stream.abort(new Error("answer read"));
  return frame;
}

/**
 * Ask every peer at once and return each answer in the order of `peers` (`missing` for a peer
 * that failed or was cut off). Settles when all answered, or `windowMs` after `quorum` answers
 * that `counts` accepts (by default every answer, a failure included); the stragglers are then
 * aborted. The slowest of many peers would otherwise decide the time, while a quorum still keeps
 * fast liars alone from deciding what is found.
 */
export async function askQuorum<P, T>(
  peers: readonly P[],
  ask: (peer: P, signal: AbortSignal) => Promise<T>,
  o: { signal: AbortSignal; quorum: number; windowMs: number; missing: T; counts?: (answer: T) => boolean },
): Promise<T[]> {
  const answers: T[] = peers.map(() => o.missing);
  const stragglers = new AbortController();
  const asking = AbortSignal.any([o.signal, stragglers.signal]);
  let answered = 0;
  const quorumReached = Promise.withResolvers<void>();
  if (o.quorum <= 0) quorumReached.resolve();
  const all = Promise.all(peers.map(async (peer, i) => {
    try {
      answers[i] = await ask(peer, asking);
    } catch {
      // a peer that refused does not hold the query up
    }
    if ((o.counts?.(answers[i]!) ?? true) && ++answered >= o.quorum) quorumReached.resolve();
  }));
  await Promise.race([all, quorumReached.promise]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise((resolve) => timer = setTimeout(resolve, o.windowMs))]);
  clearTimeout(timer);
  stragglers.abort(new DOMException("Enough answers", "AbortError"));
  return [...answers];
}
