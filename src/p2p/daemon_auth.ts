/**
 * The control API's shared parts: the daemon file, the request and answer MACs both ends
 * compute, the limits, and the shape of an answer.
 * @module
 */
import { join } from "node:path";
import {
  DAEMON_FILE_NAME,
  DEFAULT_P2P_REQUEST_TIMEOUT_MS,
  errorFromName,
  MIB,
  SECOND,
  type SerializedError,
  toHex,
  ValidationError,
} from "../core/mod.ts";

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
  return join(home, DAEMON_FILE_NAME);
}

/** Header carrying the client's nonce */
export const NONCE_HEADER = "x-ggen-nonce";
/** Header carrying the daemon's proof over the nonce and its answer */
export const PROOF_HEADER = "x-ggen-proof";
/** Largest request body the daemon reads */
export const MAX_CONTROL_REQUEST_BYTES = 1 * MIB;
/** Largest answer the client reads */
export const MAX_CONTROL_ANSWER_BYTES = 16 * MIB;
/** Deadline of one control call: the longest P2P operation plus a margin */
export const CONTROL_CALL_TIMEOUT_MS = DEFAULT_P2P_REQUEST_TIMEOUT_MS + 5 * SECOND;
export const NONCE = /^[0-9a-f]{32}$/;

// WebCrypto, not node:crypto: a command that talks to its daemon need not load Deno's Node.js layer
const encoder = new TextEncoder();

async function hmac(secret: string, ...parts: string[]): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(parts.join("\n")))));
}

async function bodyDigest(body: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>)));
}

/** Equality of two hex strings in time that depends on their length only, not on where they differ */
export function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The client's MAC over one control request (exported for the protocol's tests) */
export async function requestMac(
  secret: string,
  nonce: string,
  method: string,
  pathAndQuery: string,
  body: Uint8Array,
): Promise<string> {
  return hmac(secret, "ggen-daemon-request", nonce, method, pathAndQuery, await bodyDigest(body));
}

export async function answerMac(secret: string, nonce: string, body: Uint8Array | undefined): Promise<string> {
  return hmac(secret, "ggen-daemon-answer", nonce, body ? await bodyDigest(body) : "stream");
}

/**
 * The writes a client may leave to the daemon (`"background": true` in an RPC): sharing what it
 * fetched walks the DHT for a while, which no CLI command should wait for
 */
export const BACKGROUND_METHODS = ["provide", "putRecord", "announce"] as const;
/** A method the daemon runs after answering */
export type BackgroundMethod = typeof BACKGROUND_METHODS[number];
/** Background calls a daemon runs at once; more are refused as busy */
export const MAX_BACKGROUND_CALLS = 64;
/** How long one background call may run */
export const BACKGROUND_CALL_MS = 60 * SECOND;

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

export function tryParseDaemonError(bytes: Uint8Array): SerializedError | undefined {
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
export async function readDaemonInfo(home: string): Promise<DaemonInfo | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(daemonFile(home))) as DaemonInfo;
  } catch {
    return undefined;
  }
}
