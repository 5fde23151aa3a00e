/**
 * The long-lived node behind `ggen p2p start`, and its control API: HTTP bound to 127.0.0.1,
 * so other `ggen` invocations use the daemon's node instead of starting their own.
 *
 * Both ends prove they hold the secret in `$GGEN_HOME/daemon.json` (mode 0600) without ever
 * sending it: the client signs each request with HMAC-SHA256(secret, nonce, method, path, body
 * digest), the daemon answers with HMAC-SHA256(secret, nonce, answer digest). A process that
 * squats the port of a stale daemon file learns nothing it can reuse and cannot forge an answer;
 * every call has a deadline, so a squatter that hangs cannot hang the CLI.
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import {
  type AbortOptions,
  DEFAULT_P2P_REQUEST_TIMEOUT_MS,
  errorFromName,
  type Logger,
  MIB,
  readAllLimited,
  SECOND,
  type SerializedError,
  serializeError,
  sha256Hex,
  TrustError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from "../core/mod.ts";
import type { CatalogEntry, VouchedEntry } from "./catalog.ts";
import type { Announcement } from "./records.ts";
import type { RecordValue } from "./record_values.ts";
import { BAN_MS, type Behaviour } from "./reputation.ts";
import {
  callNode,
  checkResult,
  isNodeMethod,
  type NodeMethod,
  type NodeParams,
  type NodeResult,
} from "./node_calls.ts";
import type { FetchOptions, NodeStatus, P2PNode, PeerSummary, ProviderInfo, SharedDocument } from "./types.ts";

/** Contents of `$GGEN_HOME/daemon.json` */
export interface DaemonInfo {
  /** Process id of the daemon */
  pid: number;
  /** TCP port */
  port: number;
  /** Bearer token (secret) */
  token: string;
  /** libp2p PeerId of the peer */
  peerId: string;
  /** Multiaddrs the node listens on */
  listenAddrs: string[];
}

/** Path of the daemon file */
export function daemonFile(home: string): string {
  return join(home, "daemon.json");
}

/** Header carrying the client's nonce */
const NONCE_HEADER = "x-ggen-nonce";
/** Header carrying the daemon's proof over the nonce and its answer */
const PROOF_HEADER = "x-ggen-proof";
/** Largest request body the daemon reads */
const MAX_CONTROL_REQUEST_BYTES = 1 * MIB;
/** Largest answer the client reads */
const MAX_CONTROL_ANSWER_BYTES = 16 * MIB;
/** Deadline of one control call: the longest P2P operation plus a margin */
const CONTROL_CALL_TIMEOUT_MS = DEFAULT_P2P_REQUEST_TIMEOUT_MS + 5 * SECOND;
const NONCE = /^[0-9a-f]{32}$/;

function hmac(secret: string, ...parts: string[]): string {
  return createHmac("sha256", secret).update(parts.join("\n")).digest("hex");
}

/** Constant-time equality of two hex strings */
function sameHex(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

/** The client's MAC over one control request (exported for the protocol's tests) */
export function requestMac(
  secret: string,
  nonce: string,
  method: string,
  pathAndQuery: string,
  body: Uint8Array,
): string {
  return hmac(secret, "ggen-daemon-request", nonce, method, pathAndQuery, sha256Hex(body));
}

function answerMac(secret: string, nonce: string, body: Uint8Array | undefined): string {
  return hmac(secret, "ggen-daemon-answer", nonce, body ? sha256Hex(body) : "stream");
}

/**
 * The writes a client may leave to the daemon (`"background": true` in an RPC): sharing what it
 * fetched walks the DHT for a while, which no CLI command should wait for
 */
export const BACKGROUND_METHODS = ["provide", "putRecord", "announce"] as const;
/** A method the daemon runs after answering */
export type BackgroundMethod = typeof BACKGROUND_METHODS[number];
/** Background calls a daemon runs at once; more are refused as busy */
const MAX_BACKGROUND_CALLS = 64;
/** How long one background call may run */
const BACKGROUND_CALL_MS = 60 * SECOND;

/** A running control API */
export interface ControlServer {
  /** Every version of a package */
  readonly info: DaemonInfo;
  /** Stop, releasing everything it started */
  stop(): Promise<void>;
}

/** Serve `node` on 127.0.0.1 and write the daemon file */
export async function startControlServer(
  components: { logger: Logger },
  init: {
    home: string;
    node: P2PNode & { peerId: string; listenAddrs: string[] };
    /** `ggen p2p stop` asked the daemon to stop (an authenticated request) */
    onShutdown?: () => void;
  },
): Promise<ControlServer> {
  const { node } = init;
  const log = components.logger.child("daemon");
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  const ready = Promise.withResolvers<number>();
  // Nonces seen recently: a captured request cannot be replayed
  const seen = new Map<string, number>();
  const remember = (nonce: string): boolean => {
    const now = Date.now();
    if (seen.size > 10_000) { for (const [n, t] of seen) if (now - t > 10 * 60 * SECOND) seen.delete(n); }
    if (seen.has(nonce)) return false;
    seen.set(nonce, now);
    return true;
  };
  const answer = (nonce: string, status: number, value: unknown): Response => {
    const body = new TextEncoder().encode(JSON.stringify(value));
    return new Response(body, {
      status,
      headers: { "content-type": "application/json", [PROOF_HEADER]: answerMac(token, nonce, body) },
    });
  };
  let port = 0;
  // Background calls run on the daemon's own deadline (the client has gone); stop aborts them
  const background = new Set<Promise<unknown>>();
  const stopping = new AbortController();
  const runInBackground = (method: BackgroundMethod, params: unknown): boolean => {
    if (background.size >= MAX_BACKGROUND_CALLS) return false;
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(BACKGROUND_CALL_MS)]);
    const call = callNode(node, method, params as NodeParams<typeof method>, signal)
      .catch((err) => log.debug(`background ${method}: ${(err as Error).message}`))
      .finally(() => background.delete(call));
    background.add(call);
    return true;
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, async (req) => {
    const url = new URL(req.url);
    // DNS rebinding: a web page can reach 127.0.0.1 only under another host name
    const host = req.headers.get("host");
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return Response.json({ name: "UnauthorizedError", message: "Wrong Host" }, { status: 421 });
    }
    const nonce = req.headers.get(NONCE_HEADER) ?? "";
    let body: Uint8Array;
    try {
      body = req.body
        ? await readAllLimited(req.body, {
          limit: MAX_CONTROL_REQUEST_BYTES,
          tooLarge: () => new ValidationError(`Control request over ${MAX_CONTROL_REQUEST_BYTES} bytes`),
        })
        : new Uint8Array(0);
    } catch (err) {
      return Response.json({ ok: false, error: serializeError(err) }, { status: 413 });
    }
    const mac = (req.headers.get("authorization") ?? "").replace(/^GGEN-HMAC /, "");
    if (
      !NONCE.test(nonce) || !sameHex(mac, requestMac(token, nonce, req.method, url.pathname + url.search, body)) ||
      !remember(nonce)
    ) {
      return Response.json({ name: "UnauthorizedError", message: "Bad daemon credentials" }, { status: 401 });
    }
    try {
      if (url.pathname === "/fetch" && req.method === "GET") {
        const stream = await node.fetch(url.searchParams.get("peer") ?? "", url.searchParams.get("sha256") ?? "", {
          offset: Number(url.searchParams.get("offset") ?? 0),
          stallMs: Number(url.searchParams.get("stallMs") ?? 0) || undefined,
          ...(url.searchParams.has("expectedSize")
            ? { expectedSize: Number(url.searchParams.get("expectedSize")) }
            : {}),
          ...(url.searchParams.has("minBytesPerSecond")
            ? { minBytesPerSecond: Number(url.searchParams.get("minBytesPerSecond")) }
            : {}),
        } as FetchOptions);
        // The bytes are content-addressed and checked by the client's store; the proof binds the nonce
        return new Response(stream, {
          headers: { "content-type": "application/octet-stream", [PROOF_HEADER]: answerMac(token, nonce, undefined) },
        });
      }
      if (url.pathname === "/shutdown" && req.method === "POST") {
        log.info("stop requested by `ggen p2p stop`");
        queueMicrotask(() => init.onShutdown?.());
        return answer(nonce, 200, { ok: true, value: null });
      }
      if (url.pathname === "/rpc" && req.method === "POST") {
        const { method, params, background: later } = JSON.parse(new TextDecoder().decode(body)) as {
          method: unknown;
          params: unknown;
          background?: unknown;
        };
        if (!isNodeMethod(method)) throw new ValidationError(`Unknown method "${String(method).slice(0, 40)}"`);
        if (later === true) {
          if (!(BACKGROUND_METHODS as readonly string[]).includes(method)) {
            throw new ValidationError(`"${method}" cannot run in the background`);
          }
          if (!runInBackground(method as BackgroundMethod, params)) {
            throw new UnavailableError(`The P2P daemon is busy (${MAX_BACKGROUND_CALLS} background calls running)`);
          }
          return answer(nonce, 202, { ok: true, value: null });
        }
        // The client hanging up aborts the call in the node
        const value = await callNode(node, method, params as NodeParams<typeof method>, req.signal);
        return answer(nonce, 200, { ok: true, value: value ?? null });
      }
      return answer(nonce, 404, { ok: false, error: { name: "NotFoundError", message: "No such route" } });
    } catch (err) {
      return answer(nonce, 500, { ok: false, error: serializeError(err) });
    }
  });
  port = await ready.promise;
  const info: DaemonInfo = { pid: Deno.pid, port, token, peerId: node.peerId, listenAddrs: node.listenAddrs };
  const path = daemonFile(init.home);
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(info), { mode: 0o600, createNew: true });
  await Deno.rename(tmp, path);
  log.debug(`control API on 127.0.0.1:${port}`);
  return {
    info,
    async stop() {
      await server.shutdown();
      stopping.abort();
      await Promise.all(background);
      try {
        const current = JSON.parse(await Deno.readTextFile(path)) as DaemonInfo;
        if (current.pid === Deno.pid) await Deno.remove(path);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * Check the shape of a daemon answer `{ ok, value }` or `{ ok: false, error: { name, message } }`.
 * @throws {ValidationError} for anything else, or the rebuilt error the daemon reported
 */
export function parseDaemonAnswer<T>(bytes: Uint8Array): T {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ValidationError("Invalid P2P daemon answer: not JSON", { cause: err });
  }
  if (typeof body !== "object" || body === null || typeof (body as { ok?: unknown }).ok !== "boolean") {
    throw new ValidationError("Invalid P2P daemon answer: expected { ok, value | error }");
  }
  const b = body as { ok: boolean; value?: unknown; error?: unknown };
  if (b.ok) return (b.value ?? undefined) as T;
  throw errorFromName(tryParseDaemonError(bytes) ?? { name: "UnavailableError", message: "P2P daemon failed" });
}

function tryParseDaemonError(bytes: Uint8Array): SerializedError | undefined {
  try {
    const e = (JSON.parse(new TextDecoder().decode(bytes)) as { error?: { name?: unknown; message?: unknown } }).error;
    if (typeof e?.name === "string" && typeof e.message === "string") {
      return { name: e.name.slice(0, 64), message: e.message.slice(0, 2000) };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** The daemon file of `home`, or undefined when there is none (or it is not JSON) */
async function readDaemonInfo(home: string): Promise<DaemonInfo | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(daemonFile(home))) as DaemonInfo;
  } catch {
    return undefined;
  }
}

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

class DaemonClient implements P2PNode {
  readonly kind = "daemon";
  #info: DaemonInfo;
  constructor(info: DaemonInfo) {
    this.#info = info;
  }

  /** One authenticated call with a deadline; the daemon's proof is checked before anything is used */
  async #call(method: "GET" | "POST", pathAndQuery: string, body: string, o: AbortOptions): Promise<Response> {
    const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    const bytes = new TextEncoder().encode(body);
    const signal = AbortSignal.any([AbortSignal.timeout(CONTROL_CALL_TIMEOUT_MS), ...(o.signal ? [o.signal] : [])]);
    try {
      const res = await fetch(`http://127.0.0.1:${this.#info.port}${pathAndQuery}`, {
        method,
        redirect: "error",
        headers: {
          authorization: `GGEN-HMAC ${requestMac(this.#info.token, nonce, method, pathAndQuery, bytes)}`,
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
  #checkProof(res: Response, body: Uint8Array | undefined): void {
    const nonce = (res as Response & { nonce: string }).nonce;
    const proof = res.headers.get(PROOF_HEADER) ?? "";
    if (!sameHex(proof, answerMac(this.#info.token, nonce, body))) {
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
    const res = await this.#call("POST", "/rpc", JSON.stringify(request), o);
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
    this.#checkProof(res, body);
    return checkResult(method, parseDaemonAnswer<unknown>(body));
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
    this.#checkProof(res, body);
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
  findProviders(sha256: string, o: AbortOptions & { limit?: number } = {}): Promise<ProviderInfo[]> {
    return this.#rpc("findProviders", { sha256, limit: o.limit ?? 20 }, o.signal ? { signal: o.signal } : {});
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
      if (body) this.#checkProof(res, body);
      const parsed = body ? tryParseDaemonError(body) : undefined;
      throw errorFromName(parsed ?? { name: "UnavailableError", message: `daemon fetch failed: ${res.status}` });
    }
    this.#checkProof(res, undefined);
    return res.body;
  }
  stop(): Promise<void> {
    // The daemon outlives its clients
    return Promise.resolve();
  }
}
