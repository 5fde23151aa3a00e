/**
 * The long-lived node behind `ggen p2p start`, and its control API: HTTP bound to 127.0.0.1,
 * protected by a random bearer token in `$GGEN_HOME/daemon.json` (mode 0600), so other `ggen`
 * invocations use the daemon's node instead of starting their own.
 * @module
 */
import { join } from "node:path";
import { errorFromName, type SerializedError, serializeError, UnavailableError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { AbortOptions } from "../core/registry.ts";
import type { CatalogEntry } from "./catalog.ts";
import type { Announcement, RecordValue } from "./records.ts";
import type { Behaviour } from "./reputation.ts";
import type { FetchOptions, NodeStatus, P2PNode, PeerSummary, ProviderInfo } from "./types.ts";

/** Contents of `$GGEN_HOME/daemon.json` */
export interface DaemonInfo {
  pid: number;
  port: number;
  token: string;
  peerId: string;
  listenAddrs: string[];
}

/** Path of the daemon file */
export function daemonFile(home: string): string {
  return join(home, "daemon.json");
}

type RpcMethod = Exclude<keyof P2PNode, "kind" | "stop" | "fetch">;
const RPC_METHODS: RpcMethod[] = [
  "status",
  "peers",
  "dial",
  "provide",
  "findProviders",
  "putRecord",
  "getRecords",
  "announce",
  "search",
  "penalize",
  "ban",
  "unban",
  "banned",
];

/** A running control API */
export interface ControlServer {
  readonly info: DaemonInfo;
  stop(): Promise<void>;
}

/** Serve `node` on 127.0.0.1 and write the daemon file */
export async function startControlServer(
  components: { logger: Logger },
  init: { home: string; node: P2PNode & { peerId: string; listenAddrs: string[] } },
): Promise<ControlServer> {
  const { node } = init;
  const log = components.logger.child("daemon");
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, async (req) => {
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ name: "UnauthorizedError", message: "Bad daemon token" }, { status: 401 });
    }
    const url = new URL(req.url);
    try {
      if (url.pathname === "/fetch" && req.method === "GET") {
        const body = await node.fetch(url.searchParams.get("peer") ?? "", url.searchParams.get("sha256") ?? "", {
          offset: Number(url.searchParams.get("offset") ?? 0),
          stallMs: Number(url.searchParams.get("stallMs") ?? 0) || undefined,
        } as FetchOptions);
        return new Response(body, { headers: { "content-type": "application/octet-stream" } });
      }
      if (url.pathname === "/rpc" && req.method === "POST") {
        const { method, args } = await req.json() as { method: RpcMethod; args: unknown[] };
        if (!RPC_METHODS.includes(method)) throw new TypeError(`Unknown method "${method}"`);
        const fn = node[method] as (...a: unknown[]) => Promise<unknown>;
        const value = await fn.apply(node, args);
        return Response.json({ ok: true, value: value ?? null });
      }
      return Response.json({ name: "NotFoundError", message: "No such route" }, { status: 404 });
    } catch (err) {
      return Response.json({ ok: false, error: serializeError(err) }, { status: 500 });
    }
  });
  const port = await ready.promise;
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
      try {
        const current = JSON.parse(await Deno.readTextFile(path)) as DaemonInfo;
        if (current.pid === Deno.pid) await Deno.remove(path);
      } catch {
        // already gone
      }
    },
  };
}

/** Connect to the daemon of `home`, or undefined when none answers */
export async function connectDaemon(home: string, logger: Logger): Promise<P2PNode | undefined> {
  let info: DaemonInfo;
  try {
    info = JSON.parse(await Deno.readTextFile(daemonFile(home)));
  } catch {
    return undefined;
  }
  const client = new DaemonClient(info);
  try {
    await client.status({ signal: AbortSignal.timeout(2000) });
  } catch (err) {
    logger.debug(`stale daemon file (pid ${info.pid}): ${(err as Error).message}`);
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

  async #rpc<T>(method: RpcMethod, args: unknown[], o: AbortOptions = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.#info.port}/rpc`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.#info.token}`, "content-type": "application/json" },
        body: JSON.stringify({ method, args }),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      throw new UnavailableError(`Cannot reach the P2P daemon on port ${this.#info.port}`, { cause: err });
    }
    const body = await res.json() as { ok: boolean; value?: T; error?: SerializedError };
    if (!body.ok) throw errorFromName(body.error ?? { name: "Error", message: `daemon answered ${res.status}` });
    return body.value as T;
  }

  status(o?: AbortOptions): Promise<NodeStatus> {
    return this.#rpc("status", [], o);
  }
  peers(o?: AbortOptions): Promise<PeerSummary[]> {
    return this.#rpc("peers", [], o);
  }
  dial(multiaddr: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("dial", [multiaddr], o);
  }
  provide(sha256: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("provide", [sha256], o);
  }
  findProviders(sha256: string, o: AbortOptions & { limit?: number } = {}): Promise<ProviderInfo[]> {
    const { signal, ...rest } = o;
    return this.#rpc("findProviders", [sha256, rest], signal ? { signal } : {});
  }
  putRecord(key: string, value: string, o?: AbortOptions): Promise<void> {
    return this.#rpc("putRecord", [key, value], o);
  }
  getRecords(key: string, o?: AbortOptions): Promise<RecordValue[]> {
    return this.#rpc("getRecords", [key], o);
  }
  announce(a: Announcement, o?: AbortOptions): Promise<void> {
    return this.#rpc("announce", [a], o);
  }
  search(text: string, limit: number, o?: AbortOptions): Promise<CatalogEntry[]> {
    return this.#rpc("search", [text, limit], o);
  }
  penalize(peerId: string, reason: string, behaviour?: Behaviour): Promise<void> {
    return this.#rpc("penalize", [peerId, reason, ...(behaviour ? [behaviour] : [])]);
  }
  ban(peerId: string, ms?: number): Promise<void> {
    return this.#rpc("ban", [peerId, ...(ms ? [ms] : [])]);
  }
  unban(peerId: string): Promise<void> {
    return this.#rpc("unban", [peerId]);
  }
  banned(): Promise<string[]> {
    return this.#rpc("banned", []);
  }
  async fetch(peerId: string, sha256: string, o: FetchOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const q = new URLSearchParams({
      peer: peerId,
      sha256,
      offset: String(o.offset ?? 0),
      stallMs: String(o.stallMs ?? 0),
    });
    const res = await fetch(`http://127.0.0.1:${this.#info.port}/fetch?${q}`, {
      headers: { authorization: `Bearer ${this.#info.token}` },
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => ({})) as { error?: SerializedError };
      throw errorFromName(body.error ?? { name: "UnavailableError", message: `daemon fetch failed: ${res.status}` });
    }
    return res.body;
  }
  stop(): Promise<void> {
    // The daemon outlives its clients
    return Promise.resolve();
  }
}
