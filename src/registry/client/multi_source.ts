/**
 * Multi-source download (design §10.2 scenario 5): one blob in pieces of `pieceBytes`, fetched
 * from several providers at once over the fetch protocol's offset/length. Each provider pulls
 * the next missing piece when it finishes one, so a fast peer serves more and a slow one less;
 * a peer that fails or stalls gives its piece back to the others and leaves. Pieces leave in
 * order through one stream, with at most `window` pieces held in memory. The whole is verified
 * by the caller (the cache hashes every byte); a bad whole is retried from one source at a time,
 * which tells which peer lied.
 * @module
 */
import { type Logger, UnavailableError } from "../../core/mod.ts";
import type { P2PNode } from "../../p2p/mod.ts";

/** Options of {@link multiSourceStream} */
export interface MultiSourceInit {
  sha256: string;
  size: number;
  /** Providers to use, best first */
  peers: string[];
  /** @default 1 MiB */
  pieceBytes?: number;
  /** Most pieces fetched or waiting at once. @default 4 per peer */
  window?: number;
  stallMs?: number;
  signal?: AbortSignal;
  /** A peer failed a piece (it is not asked again during this download) */
  onPeerFailure?(peerId: string, error: Error): void;
}

/** A running multi-source download */
export interface MultiSource {
  body: ReadableStream<Uint8Array>;
  /** Bytes each peer delivered so far */
  served: Map<string, number>;
}

async function readAll(stream: ReadableStream<Uint8Array>, expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let at = 0;
  for await (const chunk of stream) {
    if (at + chunk.byteLength > expected) throw new RangeError(`sent more than the ${expected} bytes asked`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== expected) throw new RangeError(`sent ${at} of ${expected} bytes`);
  return out;
}

/** Start downloading `init.sha256` from `init.peers` at once */
export function multiSourceStream(components: { node: P2PNode; logger: Logger }, init: MultiSourceInit): MultiSource {
  const { node, logger } = components;
  const pieceBytes = init.pieceBytes ?? 1024 * 1024;
  const count = Math.ceil(init.size / pieceBytes);
  const window = init.window ?? 4 * init.peers.length;
  const pending: number[] = Array.from({ length: count }, (_, i) => i);
  const ready = new Map<number, Uint8Array>();
  const served = new Map<string, number>(init.peers.map((p) => [p, 0]));
  const stop = new AbortController();
  const signal = init.signal ? AbortSignal.any([init.signal, stop.signal]) : stop.signal;
  let next = 0; // the piece the stream emits next
  let completed = 0;
  let working = init.peers.length;
  // Everyone waiting for a piece, a free slot or the end is woken by any change
  let waiters: (() => void)[] = [];
  const notify = () => {
    const woken = waiters;
    waiters = [];
    for (const w of woken) w();
  };
  const changed = () => new Promise<void>((r) => waiters.push(r));

  const worker = async (peer: string) => {
    try {
      while (!signal.aborted) {
        // Stay within the window: never run far ahead of what the stream has emitted
        const index = pending.length && pending[0]! < next + window ? pending.shift() : undefined;
        if (index === undefined) {
          // Nothing to take now; a piece in flight elsewhere may still come back, so leave only at the end
          if (completed === count) return;
          await changed();
          continue;
        }
        const offset = index * pieceBytes;
        const length = Math.min(pieceBytes, init.size - offset);
        try {
          const body = await node.fetch(peer, init.sha256, {
            signal,
            offset,
            length,
            expectedSize: init.size,
            ...(init.stallMs ? { stallMs: init.stallMs } : {}),
          });
          ready.set(index, await readAll(body, length));
          completed++;
          served.set(peer, (served.get(peer) ?? 0) + length);
          notify();
        } catch (err) {
          // Give the piece back, in order, and leave: the others finish it
          const at = pending.findIndex((p) => p > index);
          pending.splice(at === -1 ? pending.length : at, 0, index);
          if (!signal.aborted) init.onPeerFailure?.(peer, err as Error);
          logger.debug(`piece ${index} from ${peer} failed: ${(err as Error).message}`);
          return;
        }
      }
    } finally {
      working--;
      notify();
    }
  };

  const body = new ReadableStream<Uint8Array>({
    start() {
      for (const peer of init.peers) void worker(peer);
    },
    async pull(controller) {
      while (!ready.has(next)) {
        if (next >= count) return controller.close();
        if (working === 0) {
          stop.abort();
          return controller.error(
            new UnavailableError(`every provider failed before piece ${next} of ${count} of sha256 ${init.sha256}`),
          );
        }
        await changed();
      }
      controller.enqueue(ready.get(next)!);
      ready.delete(next);
      next++;
      notify();
      if (next >= count) controller.close();
    },
    cancel(reason) {
      stop.abort(reason);
      notify();
    },
  });
  return { body, served };
}
