/**
 * One typed method map for every remote node: the worker protocol's {@link WorkerMethods} also
 * types the daemon's control API. `callNode` runs a method on a node by name (the daemon
 * server uses it), and `checkResult` checks what came back before a caller uses it.
 * @module
 */
import { type AbortOptions, ValidationError } from "../core/mod.ts";
import type { WorkerMethod, WorkerMethods } from "./protocol.ts";
import { MAX_EXCLUDED_PROVIDERS, type P2PNode, type Reach, REACHES } from "./types.ts";

/** The methods a node answers remotely: every worker method but the lifecycle and the stream */
export type NodeMethod = Exclude<WorkerMethod, "start" | "stop" | "fetch">;

/** Every {@link NodeMethod}, for checking names that arrive over the wire */
export const NODE_METHODS: readonly NodeMethod[] = [
  "status",
  "peers",
  "metrics",
  "dial",
  "provide",
  "findProviders",
  "rankPeers",
  "putRecord",
  "getRecords",
  "getMetadata",
  "announce",
  "search",
  "catalogVersions",
  "penalize",
  "ban",
  "unban",
  "banned",
  "transfers",
];

/** True when `name` is a {@link NodeMethod} */
export function isNodeMethod(name: unknown): name is NodeMethod {
  return typeof name === "string" && (NODE_METHODS as readonly string[]).includes(name);
}

/** Params of a node method */
export type NodeParams<K extends NodeMethod> = WorkerMethods[K]["params"];
/** Result of a node method */
export type NodeResult<K extends NodeMethod> = WorkerMethods[K]["result"];

/**
 * Run `method` on `node` with its typed params; the signal reaches the node.
 * @throws {ValidationError} for params of the wrong shape
 */
export async function callNode<K extends NodeMethod>(
  node: P2PNode,
  method: K,
  params: NodeParams<K>,
  signal: AbortSignal,
): Promise<NodeResult<K>> {
  const o: AbortOptions = { signal };
  const p = params as Record<string, unknown>;
  if (typeof p !== "object" || p === null) throw new ValidationError(`Invalid params for "${method}"`);
  const str = (k: string) => {
    if (typeof p[k] !== "string") throw new ValidationError(`Invalid params for "${method}": "${k}" must be a string`);
    return p[k] as string;
  };
  const num = (k: string, fallback: number) => {
    const v = p[k] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ValidationError(`Invalid params for "${method}": "${k}" must be a number`);
    }
    return v;
  };
  const strs = (k: string, max: number) => {
    const v = p[k] ?? [];
    if (!Array.isArray(v) || v.length > max || !v.every((s) => typeof s === "string" && s.length <= 128)) {
      throw new ValidationError(`Invalid params for "${method}": "${k}" must be at most ${max} short strings`);
    }
    return v as string[];
  };
  type R = Promise<NodeResult<K>>;
  switch (method as NodeMethod) {
    case "status":
      return await (node.status(o) as R);
    case "peers":
      return await (node.peers(o) as R);
    case "metrics":
      return await (node.metrics(o) as R);
    case "dial":
      return await (node.dial(str("multiaddr"), o) as R);
    case "provide":
      return await (node.provide(str("sha256"), o) as R);
    case "findProviders":
      return await (node.findProviders(str("sha256"), {
        signal,
        limit: num("limit", 20),
        exclude: strs("exclude", MAX_EXCLUDED_PROVIDERS),
      }) as R);
    case "rankPeers":
      return await (node.rankPeers(strs("peerIds", MAX_EXCLUDED_PROVIDERS), o) as R);
    case "putRecord":
      return await (node.putRecord(str("key"), str("value"), o) as R);
    case "getRecords":
      return await (node.getRecords(str("key"), o) as R);
    case "getMetadata":
      return await (node.getMetadata(str("id"), o) as R);
    case "announce":
      return await (node.announce(p.announcement as NodeParams<"announce">["announcement"], o) as R);
    case "search":
      return await (node.search(str("text"), num("limit", 20), o) as R);
    case "catalogVersions":
      return await (node.catalogVersions(str("id"), o) as R);
    case "penalize":
      return await (node.penalize(
        str("peerId"),
        str("reason"),
        p.behaviour as NodeParams<"penalize">["behaviour"],
      ) as R);
    case "ban":
      return await (node.ban(str("peerId"), num("ms", 0) || undefined) as R);
    case "unban":
      return await (node.unban(str("peerId")) as R);
    case "banned":
      return await (node.banned() as R);
    case "transfers":
      return await (node.transfers(o) as R);
  }
  throw new ValidationError(`Unknown method "${String(method)}"`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

/**
 * Check the shape of a remote node's answer to `method`.
 * @throws {ValidationError} naming the method
 */
export function checkResult<K extends NodeMethod>(method: K, value: unknown): NodeResult<K> {
  const ok = (() => {
    switch (method as NodeMethod) {
      case "status":
        return isObject(value) && typeof value.peerId === "string" && typeof value.routingTableSize === "number";
      case "peers":
        return Array.isArray(value) && value.every((p) => isObject(p) && typeof p.peerId === "string");
      case "metrics":
        return typeof value === "string";
      case "findProviders":
        return Array.isArray(value) &&
          value.every((p) =>
            isObject(p) && typeof p.peerId === "string" && isStrings(p.addrs) &&
            (p.reach === undefined || REACHES.includes(p.reach as Reach))
          );
      case "getRecords":
        return Array.isArray(value) &&
          value.every((r) => isObject(r) && typeof r.value === "string" && isStrings(r.from));
      case "getMetadata":
        return Array.isArray(value) &&
          value.every((d) => isObject(d) && typeof d.from === "string" && typeof d.document === "string");
      case "search":
        return Array.isArray(value) && value.every(isObject);
      case "catalogVersions":
        return Array.isArray(value) && value.every((v) => isObject(v) && isObject(v.entry) && isStrings(v.from));
      case "banned":
        return isStrings(value);
      case "rankPeers":
        return Array.isArray(value) &&
          value.every((p) => isObject(p) && typeof p.peerId === "string" && REACHES.includes(p.reach as Reach));
      case "transfers":
        return Array.isArray(value) &&
          value.every((t) => isObject(t) && typeof t.peerId === "string" && typeof t.bytes === "number");
      default:
        return value === null || value === undefined;
    }
  })();
  if (!ok) throw new ValidationError(`Invalid answer of the P2P node to "${method}"`);
  return (value ?? undefined) as NodeResult<K>;
}

/** Between two looks at a node's routing table while waiting for peers */
const PEER_POLL_MS = 5;

/** Wait until a node has `min` peers in its DHT routing table or the time is up; bounded polling */
export async function waitForPeers(
  node: P2PNode,
  min: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = 0;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    // A connection is not enough: DHT queries need the peer in the routing table (after identify);
    // asked often (a status call is a message to the worker, well under a millisecond) as every
    // install without a daemon waits here
    count = (await node.status({ ...(signal ? { signal } : {}) })).routingTableSize;
    if (count >= min) break;
    await new Promise((r) => setTimeout(r, PEER_POLL_MS));
  }
  return count;
}
