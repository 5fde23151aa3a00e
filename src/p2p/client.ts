/**
 * The main-thread side of the P2P worker: the only code that calls `postMessage`. Every request
 * has an id, a timeout and cancellation; errors come back as errors, never as hangs.
 * @module
 */
import {
  type AbortOptions,
  DEFAULT_FETCH_STALL_MS,
  DEFAULT_P2P_REQUEST_TIMEOUT_MS,
  embeddedWrittenNow,
  errorFromName,
  type Logger,
  p2pWorkerUrl,
  takeWorkerAhead,
  UnavailableError,
} from "../core/mod.ts";
import type { CatalogEntry, VouchedEntry } from "./catalog.ts";
import {
  INITIAL_CREDIT,
  type MainToWorker,
  request,
  type WorkerMethod,
  type WorkerMethods,
  type WorkerStartInit,
  type WorkerToMain,
} from "./protocol.ts";
import type { Announcement } from "./announcements.ts";
import type { RecordValue } from "./record_values.ts";
import { BAN_MS, type Behaviour } from "./reputation.ts";
import type {
  FetchOptions,
  FindProvidersOptions,
  NodeStatus,
  P2PNode,
  PeerSummary,
  ProviderInfo,
  RankedPeer,
  SharedDocument,
  TransferSummary,
} from "./types.ts";
import { isolateMemory } from "./types.ts";

/** Collaborators of the worker client */
export interface WorkerNodeComponents {
  /** Where to log */
  logger: Logger;
}

/** Options of {@link startWorkerNode} */
export interface WorkerNodeInit extends WorkerStartInit {
  /** @default DEFAULT_P2P_REQUEST_TIMEOUT_MS */
  /** Deadline of one request in milliseconds */
  requestTimeoutMs?: number;
  /** Called for each valid announcement heard */
  onAnnouncement?: (a: Announcement, from: string) => void;
  /**
   * For a long-lived node: when the worker's code was just written out (the first start after an
   * install or upgrade, so Deno has not compiled it yet), load it once in a throwaway worker first.
   * An isolate that compiles it without Deno's code cache keeps about 50 MB more for its whole
   * life; the throwaway one pays that and is gone (a warm start is left alone: the throwaway
   * worker would cost it 10 MB, measured)
   */
  warmUp?: boolean;
}

/** A node running in a worker of this process */
export interface WorkerNode extends P2PNode {
  /** libp2p PeerId of the peer */
  readonly peerId: string;
  /** Multiaddrs the node listens on */
  readonly listenAddrs: string[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  stream?: ReadableStreamDefaultController<Uint8Array>;
}

/** Start the worker and its libp2p node */
export async function startWorkerNode(components: WorkerNodeComponents, init: WorkerNodeInit): Promise<WorkerNode> {
  const url = await p2pWorkerUrl(init.home);
  if (init.warmUp && embeddedWrittenNow("p2p_worker")) {
    const started = performance.now();
    await loadOnce(url);
    components.logger.child("p2p").debug(
      `worker code compiled once in a throwaway worker (${(performance.now() - started).toFixed(0)} ms): first start`,
    );
  }
  const client = new WorkerNodeClient(components, init, url);
  try {
    await client.start();
  } catch (err) {
    client.terminate();
    throw err;
  }
  return client;
}

/** How long loading the worker's code once may take before the real worker starts anyway */
const WARM_UP_TIMEOUT_MS = 30_000;

/**
 * Load the worker module in a throwaway worker and end it: its answer to a request means the module
 * was evaluated, and Deno has kept its compiled code for the next worker
 */
async function loadOnce(url: string): Promise<void> {
  const worker = new Worker(url, { type: "module" });
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WARM_UP_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.onmessage = done;
      worker.onerror = (evt) => {
        evt.preventDefault();
        done();
      };
      // Answered with "not started": enough to know the code is loaded
      worker.postMessage(request(0, "status", {}, WARM_UP_TIMEOUT_MS));
    });
  } finally {
    worker.terminate();
  }
}

class WorkerNodeClient implements WorkerNode {
  readonly kind = "worker";
  peerId = "";
  listenAddrs: string[] = [];
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #log: Logger;
  #init: WorkerNodeInit;
  #terminated = false;

  constructor(components: WorkerNodeComponents, init: WorkerNodeInit, url: string) {
    this.#log = components.logger.child("p2p");
    this.#init = init;
    const ahead = takeWorkerAhead(url);
    if (ahead) this.#log.debug(`P2P worker taken over: it started loading ${ahead.aheadMs.toFixed(0)} ms ago`);
    this.#worker = ahead?.worker ?? new Worker(url, { type: "module" });
    this.#worker.onmessage = (evt: MessageEvent<WorkerToMain>) => this.#onMessage(evt.data);
    this.#worker.onerror = (evt) => {
      evt.preventDefault();
      this.#failAll(new UnavailableError(`P2P worker crashed: ${evt.message}`));
    };
  }

  #onMessage(msg: WorkerToMain): void {
    switch (msg.type) {
      case "reply": {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        if (msg.ok) {
          if (!p.stream) this.#pending.delete(msg.id);
          p.resolve(msg.value);
        } else {
          this.#pending.delete(msg.id);
          p.reject(errorFromName(msg.error));
        }
        return;
      }
      case "chunk":
        this.#pending.get(msg.id)?.stream?.enqueue(msg.data);
        return;
      case "end": {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        p?.stream?.close();
        return;
      }
      case "stream-error": {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        p?.stream?.error(errorFromName(msg.error));
        return;
      }
      case "log":
        this.#log.log(msg.level, msg.message);
        return;
      case "announcement":
        this.#init.onAnnouncement?.(msg.announcement, msg.from);
        return;
      default: {
        const never: never = msg;
        this.#log.warn(`unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  #post(msg: MainToWorker): void {
    if (!this.#terminated) this.#worker.postMessage(msg);
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) {
      p.reject(err);
      p.stream?.error(err);
    }
    this.#pending.clear();
  }

  #call<K extends WorkerMethod>(
    method: K,
    params: WorkerMethods[K]["params"],
    options: AbortOptions & { timeoutMs?: number } = {},
    stream?: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<WorkerMethods[K]["result"]> {
    if (this.#terminated) return Promise.reject(new UnavailableError("The P2P node is stopped"));
    options.signal?.throwIfAborted();
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#init.requestTimeoutMs ?? DEFAULT_P2P_REQUEST_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      // The main thread keeps its own deadline too, so a wedged worker cannot hang us
      const timer = setTimeout(() => {
        this.#post({ type: "cancel", id });
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        p?.reject(new UnavailableError(`P2P request "${method}" timed out after ${timeoutMs} ms`));
      }, timeoutMs + 1000);
      const onAbort = () => {
        this.#post({ type: "cancel", id });
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        p?.reject(options.signal!.reason);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      this.#pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as WorkerMethods[K]["result"]);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        ...(stream ? { stream } : {}),
      });
      this.#post(request(id, method, params, timeoutMs));
    });
  }

  async start(): Promise<void> {
    const { requestTimeoutMs: _t, onAnnouncement: _a, warmUp: _w, ...init } = this.#init;
    const result = await this.#call("start", init);
    this.peerId = result.peerId;
    this.listenAddrs = result.listenAddrs;
  }

  async status(o: AbortOptions = {}): Promise<NodeStatus> {
    const status = await this.#call("status", {}, o);
    // The worker measures its own isolate; this thread's is added here
    return status.memory ? { ...status, memory: { ...status.memory, main: isolateMemory() } } : status;
  }
  peers(o: AbortOptions = {}): Promise<PeerSummary[]> {
    return this.#call("peers", {}, o);
  }
  metrics(o: AbortOptions = {}): Promise<string> {
    return this.#call("metrics", {}, o);
  }
  async dial(multiaddr: string, o: AbortOptions = {}): Promise<void> {
    await this.#call("dial", { multiaddr }, o);
  }
  async provide(sha256: string, o: AbortOptions = {}): Promise<void> {
    await this.#call("provide", { sha256 }, o);
  }
  findProviders(sha256: string, o: AbortOptions & FindProvidersOptions = {}): Promise<ProviderInfo[]> {
    return this.#call("findProviders", { sha256, limit: o.limit ?? 20, exclude: o.exclude ?? [] }, o);
  }
  rankPeers(peerIds: string[], o: AbortOptions = {}): Promise<RankedPeer[]> {
    return this.#call("rankPeers", { peerIds }, o);
  }
  async putRecord(key: string, value: string, o: AbortOptions = {}): Promise<void> {
    await this.#call("putRecord", { key, value }, o);
  }
  getRecords(key: string, o: AbortOptions = {}): Promise<RecordValue[]> {
    return this.#call("getRecords", { key }, o);
  }
  getMetadata(id: string, o: AbortOptions = {}): Promise<SharedDocument[]> {
    return this.#call("getMetadata", { id }, o);
  }
  async announce(announcement: Announcement, o: AbortOptions = {}): Promise<void> {
    await this.#call("announce", { announcement }, o);
  }
  search(text: string, limit: number, o: AbortOptions = {}): Promise<CatalogEntry[]> {
    return this.#call("search", { text, limit }, o);
  }
  catalogVersions(id: string, o: AbortOptions = {}): Promise<VouchedEntry[]> {
    return this.#call("catalogVersions", { id }, o);
  }
  async penalize(peerId: string, reason: string, behaviour: Behaviour = "failure"): Promise<void> {
    await this.#call("penalize", { peerId, reason, behaviour });
  }
  async ban(peerId: string, ms = BAN_MS): Promise<void> {
    await this.#call("ban", { peerId, ms });
  }
  async unban(peerId: string): Promise<void> {
    await this.#call("unban", { peerId });
  }
  banned(): Promise<string[]> {
    return this.#call("banned", {});
  }
  transfers(o: AbortOptions = {}): Promise<TransferSummary[]> {
    return this.#call("transfers", {}, o);
  }

  async fetch(peerId: string, sha256: string, o: FetchOptions = {}): Promise<ReadableStream<Uint8Array>> {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let id = 0;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      // Each pull grants the worker one more chunk: backpressure across the boundary
      pull: () => {
        if (id) this.#post({ type: "credit", id, chunks: 1 });
      },
      cancel: () => {
        if (id) this.#post({ type: "cancel", id });
        this.#pending.delete(id);
      },
    }, { highWaterMark: INITIAL_CREDIT });
    id = this.#nextId;
    await this.#call(
      "fetch",
      {
        peerId,
        sha256,
        offset: o.offset ?? 0,
        ...(o.length !== undefined ? { length: o.length } : {}),
        stallMs: o.stallMs ?? DEFAULT_FETCH_STALL_MS,
        ...(o.expectedSize !== undefined ? { expectedSize: o.expectedSize } : {}),
        ...(o.minBytesPerSecond !== undefined ? { minBytesPerSecond: o.minBytesPerSecond } : {}),
      },
      o,
      controller,
    );
    return stream;
  }

  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#failAll(new UnavailableError("The P2P node is stopped"));
    this.#worker.terminate();
  }

  async stop(options: { quick?: boolean } = {}): Promise<void> {
    if (this.#terminated) return;
    try {
      await this.#call("stop", options.quick ? { quick: true } : {}, { timeoutMs: 5000 });
    } catch (err) {
      this.#log.debug(`stop: ${(err as Error).message}`);
    } finally {
      this.terminate();
    }
  }
}
