/**
 * The field checks shared by DHT records (records.ts) and gossip announcements (announcements.ts):
 * every value from a peer is checked for shape, size and characters before anything uses it.
 * @module
 */
import * as semver from "semver";
import {
  hasUnsafeChars,
  isSha256Hex,
  isValidPackageId,
  isValidVersion,
  MAX_RECORD_BYTES,
  parseEnvelope,
  ValidationError,
} from "../core/mod.ts";

/** Most providers a version record may name */
const MAX_RECORD_PROVIDERS = 20;

/** Records from the future beyond this are refused (clock skew allowance) */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** Refuse a record or announcement */
export function fail(what: string): never {
  throw new ValidationError(`Invalid ggen record: ${what}`);
}

/** A string field without unsafe characters, at most `max` long */
export function str(o: Record<string, unknown>, k: string, max = 1024): string {
  const v = o[k];
  if (typeof v !== "string" || v.length > max) fail(`"${k}" must be a string of at most ${max} characters`);
  // Peers' text reaches terminals, logs and pages: no escapes, no bidi tricks
  if (hasUnsafeChars(v)) fail(`"${k}" holds control, bidi or invisible characters`);
  return v;
}

/** A short list of short strings */
export function strList(o: Record<string, unknown>, k: string): string[] {
  const v = o[k];
  if (
    !Array.isArray(v) || v.length > 32 ||
    !v.every((x) => typeof x === "string" && x.length <= 128 && !hasUnsafeChars(x))
  ) {
    fail(`"${k}" must be a list of short strings`);
  }
  return v;
}

/** Dependencies: package id -> semver range */
export function deps(o: Record<string, unknown>): Record<string, string> {
  const d = o.dependencies;
  if (typeof d !== "object" || d === null || Array.isArray(d)) fail('"dependencies" must be a table');
  for (const [k, v] of Object.entries(d)) {
    if (!isValidPackageId(k) || typeof v !== "string" || semver.validRange(v) === null) fail(`bad dependency "${k}"`);
  }
  return d as Record<string, string>;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Milliseconds of an ISO 8601 UTC timestamp, or undefined when it is not one */
export function isoUtcMs(value: unknown): number | undefined {
  if (typeof value !== "string" || !ISO_UTC.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** A JSON object of at most MAX_RECORD_BYTES */
export function decode(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > MAX_RECORD_BYTES) fail(`larger than ${MAX_RECORD_BYTES} bytes`);
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    fail("not UTF-8 JSON");
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) fail("not a JSON object");
  return o as Record<string, unknown>;
}

/** The publisher's envelope and key, when present */
export function checkSignatureFields(o: Record<string, unknown>): void {
  if (o.signature === undefined && o.publisher_key === undefined) return;
  try {
    parseEnvelope(o.signature);
  } catch (err) {
    fail(`"signature": ${(err as Error).message}`);
  }
  if (typeof o.publisher_key !== "string" || o.publisher_key.length > 64) fail('"publisher_key" must be base64');
}

/** The providers a version record names (design §4.1) */
export function checkProviders(list: unknown): void {
  if (list === undefined) return;
  if (!Array.isArray(list) || list.length > MAX_RECORD_PROVIDERS) {
    fail(`"providers" must be a list of at most ${MAX_RECORD_PROVIDERS}`);
  }
  for (const p of list as unknown[]) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) fail('"providers" entries must be objects');
    const e = p as Record<string, unknown>;
    str(e, "peer_id", 128);
    if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(e.peer_id as string)) fail('"providers" peer_id must be a base58 PeerId');
    if (!str(e, "multiaddr", 256).startsWith("/") || hasUnsafeChars(e.multiaddr as string)) {
      fail('"providers" multiaddr must be a multiaddr');
    }
    if (isoUtcMs(e.last_seen) === undefined) fail('"providers" last_seen must be ISO 8601 UTC');
  }
}

/** The fields of one version: signature, version, sha256, size, name, description, tags, dependencies */
export function checkVersionFields(o: Record<string, unknown>): void {
  checkSignatureFields(o);
  const version = str(o, "version", 64);
  if (!isValidVersion(version)) fail(`"version" "${version}" is not semver`);
  if (!isSha256Hex(str(o, "sha256", 64))) fail('"sha256" must be 64 lowercase hex digits');
  const size = o.size_bytes;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) fail('"size_bytes" must be a byte count');
  str(o, "name", 128);
  str(o, "description");
  strList(o, "tags");
  deps(o);
}
