/**
 * The client side of the control API: other `ggen` invocations use the daemon's node through
 * it, proving they hold the daemon secret and checking the daemon's proof on every answer.
 * @module
 */
import {
  type AbortOptions,
  errorFromName,
  type Logger,
  randomHex,
  readAllLimited,
  TrustError,
  UnauthorizedError,
  UnavailableError,
} from "../core/mod.ts";
import type { CatalogEntry, VouchedEntry } from "./catalog.ts";
import type { Announcement } from "./announcements.ts";
import type { RecordValue } from "./record_values.ts";
import { BAN_MS, type Behaviour } from "./reputation.ts";
import { callNode, checkResult, type NodeMethod, type NodeParams, type NodeResult } from "./node_calls.ts";
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
import type { NetworkEvent } from "./dashboard/mod.ts";
import {
  answerMac,
  BACKGROUND_CALL_MS,
  type BackgroundMethod,
  CONTROL_CALL_TIMEOUT_MS,
  daemonFile,
  type DaemonInfo,
  MAX_CONTROL_ANSWER_BYTES,
  NONCE_HEADER,
  parseDaemonAnswer,
  PROOF_HEADER,
  readDaemonInfo,
  requestMac,
  sameHex,
  tryParseDaemonError,
} from "./daemon_auth.ts";

/**
 * Ask the daemon of `home` to stop; resolves with its file's contents, or undefined when no
 * daemon answers (a stale file is then removed)
 */
export async function stopDaemon(home: string, logger: Logger): Promise<DaemonInfo | undefined> {
  const info = await readDaemonInfo(home);
  if (!info) return undefined;
  const client = await connectDaemon(home, logger);
  if (!(client instanceof DaemonClient)) {
    await Deno.remove(daemonFile(home)).catch(() => {});
    logger.info(`Removed a stale ${daemonFile(home)} (pid ${info.pid} does not answer)`);
    return undefined;
  }
  await client.shutdown();
  return info;
}

/**
 * Run a write on `node`: a daemon answers at once and finishes it on its own (so the caller can
 * exit), any other node runs it while the caller waits
 */
export function runInBackground<K extends BackgroundMethod>(
  node: P2PNode,
  method: K,
  params: NodeParams<K>,
  o: AbortOptions = {},
): Promise<void> {
  if (node instanceof DaemonClient) return node.inBackground(method, params, o);
  return callNode(node, method, params, o.signal ?? AbortSignal.timeout(BACKGROUND_CALL_MS)) as Promise<void>;
}

/** The daemon client behind `node`, when it is one (dashboard links and event reports go only there) */
export function asDaemonClient(node: P2PNode | undefined): DaemonClient | undefined {
  return node instanceof DaemonClient ? node : undefined;
}

/** Connect to the daemon of `home`, or undefined when none answers */
export async function connectDaemon(home: string, logger: Logger): Promise<P2PNode | undefined> {
  const info = await readDaemonInfo(home);
  if (!info) return undefined;
  const client = new DaemonClient(info);
  try {
    await client.status({ signal: AbortSignal.timeout(2000) });
  } catch (err) {
    if (err instanceof TrustError) logger.warn(err.message);
    else logger.debug(`stale daemon file (pid ${info.pid}): ${(err as Error).message}`);
    return undefined;
  }
  logger.debug(`using the P2P daemon (pid ${info.pid}, port ${info.port})`);
  return client;
}

/** A daemon's node, reached over its control API */
export class DaemonClient implements P2PNode {
  readonly kind = "daemon";
  #info: DaemonInfo;
  /** Connect to the daemon a daemon file describes (see {@link connectDaemon}) */
  constructor(info: DaemonInfo) {
    this.#info = info;
  }
  /** The daemon's control port on 127.0.0.1 */
  get port(): number {
    return this.#info.port;
  }

  /** One authenticated call with a deadline; the daemon's proof is checked before anything is used */
  async #call(method: "GET" | "POST", pathAndQuery: string, body: string, o: AbortOptions): Promise<Response> {
    const nonce = randomHex(16);
    const bytes = new TextEncoder().encode(body);
    const signal = AbortSignal.any([AbortSignal.timeout(CONTROL_CALL_TIMEOUT_MS), ...(o.signal ? [o.signal] : [])]);
    try {
      const res = await fetch(`http://127.0.0.1:${this.#info.port}${pathAndQuery}`, {
        method,
        redirect: "error",
        headers: {
          authorization: `GGEN-HMAC ${await requestMac(this.#info.token, nonce, method, pathAndQuery, bytes)}`,
          [NONCE_HEADER]: nonce,
          ...(method === "POST" ? { "content-type": "application/json" } : {}),
        },
        ...(method === "POST" ? { body: bytes as Uint8Array<ArrayBuffer> } : {}),
        signal,
      });
      Object.defineProperty(res, "nonce", { value: nonce });
      return res;
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      const why = signal.aborted ? `no answer within ${CONTROL_CALL_TIMEOUT_MS} ms` : (err as Error).message;
      throw new UnavailableError(`Cannot reach the P2P daemon on port ${this.#info.port}: ${why}`, { cause: err });
    }
  }

  /** Check the daemon's proof over the nonce and `body` */
  async #checkProof(res: Response, body: Uint8Array | undefined): Promise<void> {
    const nonce = (res as Response & { nonce: string }).nonce;
    const proof = res.headers.get(PROOF_HEADER) ?? "";
    if (!sameHex(proof, await answerMac(this.#info.token, nonce, body))) {
      throw new TrustError(
        `The process on port ${this.#info.port} is not this home's P2P daemon (it cannot prove the daemon secret); ` +
          `remove the stale ${daemonFile("$GGEN_HOME")} or restart the daemon with \`ggen p2p start\``,
      );
    }
  }

  async #rpc<K extends NodeMethod>(
    method: K,
    params: NodeParams<K>,
    o: AbortOptions & { background?: boolean } = {},
  ): Promise<NodeResult<K>> {
    const request = { method, params, ...(o.background ? { background: true } : {}) };
    return checkResult(method, await this.#post("/rpc", request, o));
  }

  /** One authenticated POST whose answer is `{ ok, value | error }` under the daemon's proof */
  async #post(path: string, request: unknown, o: AbortOptions): Promise<unknown> {
    const res = await this.#call("POST", path, JSON.stringify(request), o);
    if (res.status === 401 || res.status === 421) {
      await res.body?.cancel();
      throw new UnauthorizedError(`The P2P daemon on port ${this.#info.port} refused this home's credentials`);
    }
    const body = res.body
      ? await readAllLimited(res.body, {
        limit: MAX_CONTROL_ANSWER_BYTES,
        tooLarge: () => new TrustError(`P2P daemon answer over ${MAX_CONTROL_ANSWER_BYTES} bytes`),
      })
      : new Uint8Array(0);
    await this.#checkProof(res, body);
    return parseDaemonAnswer<unknown>(body);
  }

  /** A one-time sign-in path of the daemon's dashboard (`/ui/login?token=…`) */
  async dashboardPath(o: AbortOptions = {}): Promise<string> {
    const value = await this.#post("/ui-token", {}, o) as { path?: unknown } | undefined;
    if (typeof value?.path !== "string" || !value.path.startsWith("/ui/login?token=")) {
      throw new TrustError("Invalid P2P daemon answer to a dashboard sign-in request");
    }
    return value.path;
  }

  /** Tell the daemon's dashboard what this command did about the network */
  async reportEvent(e: NetworkEvent, o: AbortOptions = {}): Promise<void> {
    await this.#post("/event", e, o);
  }

  status(o?: AbortOptions): Promise<NodeStatus> {
    return this.#rpc("status", {}, o);
  }
  /** Hand `method` to the daemon, which answers at once and runs it on its own deadline */
  inBackground<K extends BackgroundMethod>(method: K, params: NodeParams<K>, o: AbortOptions = {}): Promise<void> {
    return this.#rpc(method, params, { ...o, background: true }) as Promise<void>;
  }
  /** Ask the daemon to stop */
  async shutdown(o: AbortOptions = {}): Promise<void> {
    const res = await this.#call("POST", "/shutdown", "", o);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200) throw new UnauthorizedError(`The P2P daemon on port ${this.#info.port} refused to stop`);
    await this.#checkProof(res, body);
  }
  peers(o?: AbortOptions): Promise<PeerSummary[]> {
    return this.#rpc("peers", {}, o);
  }
  metrics(o?: AbortOptions): Promise<string> {
    return this.#rpc("metrics", {}, o);
  }
  dial(multiaddr: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("dial", { multiaddr }, o);
  }
  provide(sha256: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("provide", { sha256 }, o);
  }
  findProviders(sha256: string, o: AbortOptions & FindProvidersOptions = {}): Promise<ProviderInfo[]> {
    const params = { sha256, limit: o.limit ?? 20, exclude: o.exclude ?? [] };
    return this.#rpc("findProviders", params, o.signal ? { signal: o.signal } : {});
  }
  rankPeers(peerIds: string[], o?: AbortOptions): Promise<RankedPeer[]> {
    return this.#rpc("rankPeers", { peerIds }, o);
  }
  putRecord(key: string, value: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("putRecord", { key, value }, o);
  }
  getRecords(key: string, o?: AbortOptions): Promise<RecordValue[]> {
    return this.#rpc("getRecords", { key }, o);
  }
  getMetadata(id: string, o?: AbortOptions): Promise<SharedDocument[]> {
    return this.#rpc("getMetadata", { id }, o);
  }
  announce(announcement: Announcement, o?: AbortOptions): Promise<void> {
    return this.#rpc("announce", { announcement }, o);
  }
  search(text: string, limit: number, o?: AbortOptions): Promise<CatalogEntry[]> {
    return this.#rpc("search", { text, limit }, o);
  }
  catalogVersions(id: string, o?: AbortOptions): Promise<VouchedEntry[]> {
    return this.#rpc("catalogVersions", { id }, o);
  }
  penalize(peerId: string, reason: string, behaviour: Behaviour = "failure"): Promise<void> {
    return this.#rpc("penalize", { peerId, reason, behaviour });
  }
  ban(peerId: string, ms = BAN_MS): Promise<void> {
    return this.#rpc("ban", { peerId, ms });
  }
  unban(peerId: string): Promise<void> {
    return this.#rpc("unban", { peerId });
  }
  banned(): Promise<string[]> {
    return this.#rpc("banned", {});
  }
  transfers(o?: AbortOptions): Promise<TransferSummary[]> {
    return this.#rpc("transfers", {}, o);
  }
  async fetch(peerId: string, sha256: string, o: FetchOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const q = new URLSearchParams({
      peer: peerId,
      sha256,
      offset: String(o.offset ?? 0),
      stallMs: String(o.stallMs ?? 0),
      ...(o.expectedSize !== undefined ? { expectedSize: String(o.expectedSize) } : {}),
      ...(o.minBytesPerSecond !== undefined ? { minBytesPerSecond: String(o.minBytesPerSecond) } : {}),
    });
    const res = await this.#call("GET", `/fetch?${q}`, "", o.signal ? { signal: o.signal } : {});
    if (!res.ok || !res.body) {
      const body = res.body
        ? await readAllLimited(res.body, { limit: 64 * 1024, tooLarge: () => new TrustError("daemon error too large") })
        : undefined;
      if (body) await this.#checkProof(res, body);
      const parsed = body ? tryParseDaemonError(body) : undefined;
      throw errorFromName(parsed ?? { name: "UnavailableError", message: `daemon fetch failed: ${res.status}` });
    }
    await this.#checkProof(res, undefined);
    return res.body;
  }
  stop(): Promise<void> {
    // The daemon outlives its clients
    return Promise.resolve();
  }
}
