/**
 * The fetch protocol (`/ggen/fetch/1.0.0`): serving blobs from the local store to peers (rate
 * limited per peer, streams capped per connection) and fetching a blob from a peer into the main
 * thread as transferred chunks under credit-based flow control.
 * @module
 */
import type { Connection, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { join } from "node:path";
import {
  BandwidthLimit,
  DEFAULT_PEER_FETCH_LIMIT,
  FETCH_CHUNK_BYTES,
  FETCH_PROTOCOL,
  FETCH_RATE_GRACE_MS,
  isSha256Hex,
  MIN_FETCH_BYTES_PER_SECOND,
  NotFoundError,
  RateLimiter,
  serializeError,
  StallError,
  UnavailableError,
  ValidationError,
} from "../../src/core/mod.ts";
import {
  encodeFrame,
  type FetchRequest,
  type FetchResponseHeader,
  INITIAL_CREDIT,
  okReply,
  readFrame,
  type TransferSummary,
  type WorkerMethods,
  type WorkerToMain,
} from "../../src/p2p/mod.ts";
import type { Reachability } from "./reachability.ts";
import type { ReputationBook } from "./reputation_book.ts";
import { bytesOf, sendAll, withStallTimer } from "./streams.ts";
import type { Counters, Log, P2PLibp2p } from "./types.ts";

/** Concurrent fetch streams per connection; libp2p resets the ones past it */
export const MAX_FETCH_STREAMS = 16;
/** Longest a peer may take to send its request */
const REQUEST_DEADLINE_MS = 10_000;
/** Longest one serve may last */
const SERVE_DEADLINE_MS = 10 * 60 * 1000;

/** Collaborators of the fetch service */
export interface FetchServiceComponents {
  node: P2PLibp2p;
  reputation: ReputationBook;
  log: Log;
  counters: Counters;
  /** Send a message to the main thread, transferring buffers */
  post(msg: WorkerToMain, transfer?: Transferable[]): void;
  /** Told of peers a fetch could not reach (listed last by the next lookups) */
  reachability?: Reachability;
  /** Told when a peer delivered every byte asked of a blob (remembered as a source of it) */
  onServed?(sha256: string, peerId: string, addr: string | undefined): void;
}

/** Options of the fetch service */
export interface FetchServiceInit {
  /** The local blob store (`$GGEN_HOME/cache/sha256`) */
  cacheDir: string;
  /** Bytes per second sent to peers, all serves together; 0 or absent: unlimited */
  uploadLimit?: number;
  /** Bytes per second received from peers, all fetches together; 0 or absent: unlimited */
  downloadLimit?: number;
}

/** Serving and fetching blobs */
export interface FetchService {
  /** Register the protocol handler */
  start(): Promise<void>;
  /** Stream a blob from a peer to the main thread; replies with the total first */
  fetch(id: number, params: WorkerMethods["fetch"]["params"], signal: AbortSignal): Promise<void>;
  /** The main thread read `chunks` more chunks of request `id` */
  grant(id: number, chunks: number): void;
  /** Serves and fetches moving bytes now (holder checks left out) */
  transfers(): TransferSummary[];
}

/** Create the fetch service */
export function createFetchService(components: FetchServiceComponents, init: FetchServiceInit): FetchService {
  const { node, reputation, log, counters, post } = components;
  const limiter = new RateLimiter({ peerFetch: DEFAULT_PEER_FETCH_LIMIT });
  const upload = new BandwidthLimit(init.uploadLimit ?? 0);
  const download = new BandwidthLimit(init.downloadLimit ?? 0);
  const credits = new Map<number, { available: number; wake?: () => void }>();
  // What moves now, for the dashboard: each serve and fetch registers itself while it runs
  const moving = new Set<TransferSummary>();
  const track = (t: Omit<TransferSummary, "bytes" | "startedAt">): TransferSummary => {
    const entry = { ...t, bytes: 0, startedAt: Date.now() };
    moving.add(entry);
    return entry;
  };

  async function refuse(stream: Stream, error: string): Promise<void> {
    await sendAll(stream, encodeFrame({ ok: false, error } satisfies FetchResponseHeader));
    await stream.close();
  }

  async function serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(SERVE_DEADLINE_MS);
    try {
      try {
        limiter.take("peerFetch", peer);
      } catch (err) {
        return await refuse(stream, (err as Error).message);
      }
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame: req } = await withStallTimer(readFrame<FetchRequest>(it), REQUEST_DEADLINE_MS, signal, "request");
      if (typeof req?.sha256 !== "string" || !isSha256Hex(req.sha256)) return await refuse(stream, "bad request");
      let file: Deno.FsFile;
      try {
        file = await Deno.open(join(init.cacheDir, req.sha256), { read: true });
      } catch {
        return await refuse(stream, "not found");
      }
      try {
        const total = (await file.stat()).size;
        const offset = Math.min(Math.max(0, Math.floor(Number(req.offset) || 0)), total);
        const wanted = Number(req.length);
        const length = Number.isSafeInteger(wanted) && wanted >= 0 ? Math.min(wanted, total - offset) : total - offset;
        await file.seek(offset, Deno.SeekMode.Start);
        await sendAll(stream, encodeFrame({ ok: true, total, offset, length } satisfies FetchResponseHeader));
        let left = length;
        // A zero-length request is a holder check, not a transfer
        const shown = length > 0
          ? track({ direction: "upload", peerId: peer, sha256: req.sha256, size: length })
          : null;
        try {
          while (left > 0) {
            // A buffer per chunk, read into and handed to the stream as it is (no copy): the
            // stream keeps it until it is written
            const chunk = new Uint8Array(Math.min(FETCH_CHUNK_BYTES, left));
            const n = await file.read(chunk);
            if (n === null) break;
            await upload.take(n, signal);
            await sendAll(stream, n === chunk.length ? chunk : chunk.subarray(0, n), signal);
            counters.bytesOut += n;
            if (shown) shown.bytes += n;
            left -= n;
          }
        } finally {
          if (shown) moving.delete(shown);
        }
        if (length > 0 && left === 0) counters.served++;
      } finally {
        file.close();
      }
      await stream.close();
      log("debug", `served ${req.sha256.slice(0, 12)} to ${peer}`);
    } catch (err) {
      log("debug", `serving to ${peer} failed: ${err instanceof Error ? err.message : String(err)}`);
      stream.abort(err as Error);
    }
  }

  async function waitCredit(id: number, signal: AbortSignal): Promise<void> {
    const c = credits.get(id)!;
    while (c.available <= 0) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        c.wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    c.available--;
  }

  /** Transfer, never clone; see the comment inside */
  function postChunk(id: number, chunk: Uint8Array): void {
    // libp2p hands out Node Buffers, often views into a shared pool, and Buffer#slice() is a
    // view too: transferring such a buffer detaches memory libp2p still uses (it corrupted
    // noise frames on slow links). Only a plain Uint8Array that owns its whole buffer is sent
    // as is; anything else is first copied into one.
    const owned = Object.getPrototypeOf(chunk) === Uint8Array.prototype && chunk.byteOffset === 0 &&
        chunk.byteLength === chunk.buffer.byteLength
      ? chunk
      : new Uint8Array(chunk);
    post({ type: "chunk", id, data: owned }, [owned.buffer as ArrayBuffer]);
  }

  async function fetch(id: number, params: WorkerMethods["fetch"]["params"], signal: AbortSignal): Promise<void> {
    const { peerId, sha256, offset, length, stallMs, expectedSize } = params;
    const minRate = params.minBytesPerSecond ?? MIN_FETCH_BYTES_PER_SECOND;
    const started = Date.now();
    if (reputation.isBanned(peerId)) throw new UnavailableError(`Peer ${peerId} is banned`);
    const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(Math.max(stallMs, 1000))]);
    const peer = peerIdFromString(peerId);
    const wasConnected = node.getConnections(peer).length > 0;
    const stream = await node.dialProtocol(peer, FETCH_PROTOCOL, { signal: dialSignal }).catch((err) => {
      // Refused, or no answer in time; a fetch the caller cancelled (another peer was faster) says nothing
      if (!wasConnected && !signal.aborted) components.reachability?.failed(peerId);
      throw err;
    });
    const streamAt = Date.now();
    let replied = false;
    let shown: TransferSummary | undefined;
    credits.set(id, { available: INITIAL_CREDIT });
    try {
      stream.send(encodeFrame({ sha256, offset, ...(length !== undefined ? { length } : {}) } satisfies FetchRequest));
      await stream.close({ signal: dialSignal });
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame, rest } = await withStallTimer(
        readFrame<FetchResponseHeader>(it),
        stallMs,
        signal,
        `peer ${peerId}`,
      );
      log(
        "debug",
        `fetch ${sha256.slice(0, 12)} from ${peerId}: stream in ${streamAt - started} ms (${
          wasConnected ? "connected" : "dialled"
        }), answer in ${Date.now() - streamAt} ms`,
      );
      if (!frame.ok) throw new NotFoundError(`Peer ${peerId} cannot serve ${sha256}: ${frame.error}`);
      // The signed record says how big the tarball is: a peer declaring another size is lying
      if (expectedSize !== undefined && frame.total !== expectedSize) {
        throw new ValidationError(
          `Peer ${peerId} declares ${frame.total} bytes for ${
            sha256.slice(0, 12)
          }, the signed record says ${expectedSize}`,
        );
      }
      // Slow drip: the whole transfer must average at least minRate after a grace period
      const deadline = started + FETCH_RATE_GRACE_MS + Math.ceil((frame.length * 1000) / Math.max(1, minRate));
      post(okReply(id, { total: frame.total }));
      replied = true;
      let received = 0;
      if (frame.length > 0) shown = track({ direction: "download", peerId, sha256, size: frame.length });
      const emit = async (chunk: Uint8Array) => {
        if (chunk.byteLength === 0) return;
        received += chunk.byteLength;
        if (shown) shown.bytes = received;
        counters.bytesIn += chunk.byteLength;
        if (received > frame.length) {
          throw new ValidationError(`Peer ${peerId} sent more than the announced ${frame.length} bytes`);
        }
        await download.take(chunk.byteLength, signal);
        await waitCredit(id, signal);
        postChunk(id, chunk);
      };
      await emit(rest);
      while (received < frame.length) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new StallError(
            `Peer ${peerId} too slow: ${received} of ${frame.length} bytes in ${
              ((Date.now() - started) / 1000).toFixed(1)
            } s, below ${minRate} B/s`,
          );
        }
        const wait = Math.min(stallMs, left);
        const { done, value } = await withStallTimer(
          it.next(),
          wait,
          signal,
          wait < stallMs ? `peer ${peerId} too slow (transfer deadline)` : `peer ${peerId} stalled`,
        );
        if (done) break;
        await emit(value);
      }
      if (received !== frame.length) {
        throw new UnavailableError(`Peer ${peerId} disconnected after ${received} of ${frame.length} bytes`);
      }
      post({ type: "end", id });
      counters.fetched++;
      components.onServed?.(sha256, peerId, node.getConnections(peer)[0]?.remoteAddr.toString());
    } catch (err) {
      stream.abort(err as Error);
      if (!replied) throw err;
      post({ type: "stream-error", id, error: serializeError(err) });
    } finally {
      credits.delete(id);
      if (shown) moving.delete(shown);
    }
  }

  return {
    async start() {
      await node.handle(FETCH_PROTOCOL, serve, { maxInboundStreams: MAX_FETCH_STREAMS });
    },
    fetch,
    transfers: () => [...moving].map((t) => ({ ...t })),
    grant(id, chunks) {
      const c = credits.get(id);
      if (!c) return;
      c.available += chunks;
      c.wake?.();
    },
  };
}
