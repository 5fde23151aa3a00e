/**
 * What ggen puts on the P2P network: DHT records and gossip announcements, with their
 * validation. The logical name `ggen://{id}/{version}` is stored under the libp2p record key
 * `/ggen/{id}/{version}` (libp2p routes validators by the first key segment), and
 * `ggen://{id}` under `/ggen/{id}`.
 * @module
 */
import * as semver from "semver";
import {
  canonicalJson,
  checkPublishStatement,
  type Envelope,
  fromBase64,
  hasUnsafeChars,
  isSha256Hex,
  isValidPackageId,
  isValidVersion,
  MAX_RECORD_BYTES,
  parseEnvelope,
  PAYLOAD_TYPES,
  type PublishStatement,
  RECORD_NAMESPACE,
  TrustError,
  ValidationError,
  verifyEnvelope,
} from "../core/mod.ts";

/** Record of one version: `ggen://{id}/{version}` */
export interface VersionRecord {
  /** Discriminator of the statement, record or message */
  type: "ggen.version/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** Human-readable name */
  name: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Size of the tarball in bytes */
  size_bytes: number;
  /** One-line description */
  description: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** PeerId of the publishing node */
  publisher: string;
  /** Milliseconds since the epoch; the newest record wins */
  timestamp: number;
  /** Nodes that held the bytes when the record was put (design §4.1): hints, the DHT's provider records decide */
  providers?: RecordProvider[];
  /** The publisher's DSSE envelope over this version (see core/envelope.ts) */
  signature?: Envelope;
  /** base64 raw public key of the publisher */
  publisher_key?: string;
}

/** One provider named in a version record (design §4.1) */
export interface RecordProvider {
  /** PeerId of the node */
  peer_id: string;
  /** A multiaddr it listens on */
  multiaddr: string;
  /** When it held the bytes: ISO 8601 UTC */
  last_seen: string;
}

/** Most providers a version record may name */
const MAX_RECORD_PROVIDERS = 20;

/** Record listing known versions: `ggen://{id}` */
export interface IndexRecord {
  /** Discriminator of the statement, record or message */
  type: "ggen.index/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Every version, oldest first */
  versions: { version: string; sha256: string }[];
  /** PeerId of the node that put the record */
  publisher: string;
  /** Milliseconds since the epoch; also the record's seq */
  timestamp: number;
  /** DSSE envelope over {@link IndexStatement} */
  signature?: Envelope;
  /** base64 raw Ed25519 public key of the publisher */
  publisher_key?: string;
}

/** What an index record's signature covers */
export interface IndexStatement {
  /** Discriminator of the statement, record or message */
  type: "ggen.index/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Every version, oldest first */
  versions: { version: string; sha256: string }[];
  /** Milliseconds since the epoch (ISO 8601 text in statements) */
  timestamp: number;
}

/** A gossip announcement on `ggen/packages/announce` */
export interface Announcement {
  /** Discriminator of the statement, record or message */
  type: "announce";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** PeerId of the announcing peer; must be the gossip signer */
  peer_id: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** When it was announced: ISO 8601 UTC (design §4.2), e.g. "2026-11-30T12:00:00.000Z" */
  timestamp: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** Size of the tarball in bytes */
  size_bytes: number;
  /** Search tags */
  tags: string[];
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** The publisher's DSSE envelope */
  signature?: Envelope;
  /** base64 raw Ed25519 public key of the publisher */
  publisher_key?: string;
}

/** Most versions an index record may list */
const MAX_INDEX_VERSIONS = 200;
/** Records from the future beyond this are refused (clock skew allowance) */
const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** The DHT key of a version record */
export function versionKey(id: string, version: string): string {
  return `/${RECORD_NAMESPACE}/${id}/${version}`;
}

/** The DHT key of a package's index record */
export function indexKey(id: string): string {
  return `/${RECORD_NAMESPACE}/${id}`;
}

/** The human name of a DHT key (`ggen://…`) */
export function recordName(key: string): string {
  return `ggen://${key.slice(RECORD_NAMESPACE.length + 2)}`;
}

function fail(what: string): never {
  throw new ValidationError(`Invalid ggen record: ${what}`);
}

function str(o: Record<string, unknown>, k: string, max = 1024): string {
  const v = o[k];
  if (typeof v !== "string" || v.length > max) fail(`"${k}" must be a string of at most ${max} characters`);
  // Peers' text reaches terminals, logs and pages: no escapes, no bidi tricks
  if (hasUnsafeChars(v)) fail(`"${k}" holds control, bidi or invisible characters`);
  return v;
}

function strList(o: Record<string, unknown>, k: string): string[] {
  const v = o[k];
  if (
    !Array.isArray(v) || v.length > 32 ||
    !v.every((x) => typeof x === "string" && x.length <= 128 && !hasUnsafeChars(x))
  ) {
    fail(`"${k}" must be a list of short strings`);
  }
  return v;
}

function deps(o: Record<string, unknown>): Record<string, string> {
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

function common(o: Record<string, unknown>, now: number): { id: string; timestamp: number } {
  const id = str(o, "package_id", 128);
  if (!isValidPackageId(id)) fail(`"package_id" "${id}" is not a package id`);
  const timestamp = o.timestamp;
  if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    fail('"timestamp" must be ms');
  }
  if (timestamp > now + MAX_CLOCK_SKEW_MS) fail('"timestamp" is in the future');
  return { id, timestamp };
}

function decode(bytes: Uint8Array): Record<string, unknown> {
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

function checkSignatureFields(o: Record<string, unknown>): void {
  if (o.signature === undefined && o.publisher_key === undefined) return;
  try {
    parseEnvelope(o.signature);
  } catch (err) {
    fail(`"signature": ${(err as Error).message}`);
  }
  if (typeof o.publisher_key !== "string" || o.publisher_key.length > 64) fail('"publisher_key" must be base64');
}

function checkProviders(list: unknown): void {
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

function checkVersionFields(o: Record<string, unknown>): void {
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

/**
 * Validate a record value against its key: schema, sizes, and that the key names the content.
 * @throws {ValidationError}
 */
export function validateRecord(key: string, bytes: Uint8Array, now = Date.now()): VersionRecord | IndexRecord {
  const o = decode(bytes);
  const parts = key.split("/");
  if (parts[1] !== RECORD_NAMESPACE) fail(`key "${key}" is not in /${RECORD_NAMESPACE}/`);
  const { id } = common(o, now);
  str(o, "publisher", 128);
  if (parts.length === 4) {
    if (o.type !== "ggen.version/1") fail(`"type" must be "ggen.version/1" under ${key}`);
    checkVersionFields(o);
    checkProviders(o.providers);
    strList(o, "keywords");
    if (id !== parts[2] || o.version !== parts[3]) {
      fail(`content "${id}@${String(o.version)}" does not match key "${key}"`);
    }
    return o as unknown as VersionRecord;
  }
  if (parts.length === 3) {
    if (o.type !== "ggen.index/1") fail(`"type" must be "ggen.index/1" under ${key}`);
    if (id !== parts[2]) fail(`content "${id}" does not match key "${key}"`);
    const versions = o.versions;
    checkSignatureFields(o);
    if (!Array.isArray(versions) || versions.length > MAX_INDEX_VERSIONS) fail('"versions" must be a short list');
    for (const v of versions as Record<string, unknown>[]) {
      if (
        typeof v !== "object" || v === null || !isValidVersion(v.version) ||
        !isSha256Hex(String(v.sha256))
      ) {
        fail('"versions" entries need a semver "version" and a "sha256"');
      }
    }
    return o as unknown as IndexRecord;
  }
  fail(`key "${key}" must be /ggen/{id} or /ggen/{id}/{version}`);
}

/**
 * The seq of a record: the signed publish seq of a version record, the signed timestamp of an
 * index record; 0 when unsigned.
 */
export function recordSeq(r: VersionRecord | IndexRecord): number {
  if (!r.signature) return 0;
  try {
    const s = JSON.parse(new TextDecoder().decode(fromBase64(r.signature.payload))) as {
      seq?: number;
      timestamp?: number;
    };
    return r.type === "ggen.version/1" ? Number(s.seq) || 0 : Number(s.timestamp) || 0;
  } catch {
    return 0;
  }
}

/**
 * Validate a record and verify its publisher signature: unsigned, wrongly signed and
 * other-package records are refused. This is the kad-dht validator of the `ggen` namespace.
 * @throws {ValidationError}
 */
export async function verifyRecord(
  key: string,
  bytes: Uint8Array,
  now = Date.now(),
): Promise<VersionRecord | IndexRecord> {
  const r = validateRecord(key, bytes, now);
  if (!r.signature || !r.publisher_key) fail(`unsigned record under ${key}`);
  try {
    if (r.type === "ggen.version/1") {
      const { statement } = await verifyEnvelope<PublishStatement>(
        r.signature,
        PAYLOAD_TYPES.publish,
        fromBase64(r.publisher_key),
      );
      checkPublishStatement(statement, {
        id: r.package_id,
        version: r.version,
        sha256: r.sha256,
        size: r.size_bytes,
        dependencies: r.dependencies ?? {},
      });
    } else {
      const { statement } = await verifyEnvelope<IndexStatement>(
        r.signature,
        PAYLOAD_TYPES.index,
        fromBase64(r.publisher_key),
      );
      const expected: IndexStatement = {
        type: "ggen.index/1",
        package_id: r.package_id,
        versions: r.versions,
        timestamp: r.timestamp,
      };
      if (canonicalJson(statement) !== canonicalJson(expected)) {
        fail(`index signature does not cover this index of ${r.package_id}`);
      }
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    fail(`bad signature under ${key}: ${(err as Error).message}`);
  }
  return r;
}

/** Index of the record with the highest signed seq (kad-dht selector); invalid ones never win */
export function selectRecord(key: string, values: Uint8Array[]): number {
  let best = 0;
  let bestSeq = -1;
  values.forEach((v, i) => {
    try {
      const seq = recordSeq(validateRecord(key, v));
      if (seq > bestSeq) {
        best = i;
        bestSeq = seq;
      }
    } catch {
      // invalid records never win
    }
  });
  return best;
}

/**
 * Validate an announcement (or a catalog entry) and verify its publisher's signature over
 * exactly what it names: id, version, sha256, size and dependencies. Unsigned entries are
 * refused: whatever a node stores and re-serves, anyone can check.
 * @returns the announcement and the fingerprint of the key that signed it
 * @throws {ValidationError} for a bad shape, {TrustError} for a missing or wrong signature
 */
export async function verifyAnnouncement(
  bytes: Uint8Array,
  now = Date.now(),
): Promise<{ announcement: Announcement; keyid: string }> {
  const a = validateAnnouncement(bytes, now);
  if (!a.signature || !a.publisher_key) {
    throw new TrustError(`Refusing the announcement of "${a.package_id}@${a.version}": it is not signed`);
  }
  const { statement, keyid } = await verifyEnvelope<PublishStatement>(
    a.signature,
    PAYLOAD_TYPES.publish,
    fromBase64(a.publisher_key),
  );
  checkPublishStatement(statement, {
    id: a.package_id,
    version: a.version,
    sha256: a.sha256,
    size: a.size_bytes,
    dependencies: a.dependencies ?? {},
  });
  return { announcement: a, keyid };
}

/**
 * Validate a gossip announcement's shape (see {@link verifyAnnouncement} for its signature).
 * @throws {ValidationError}
 */
export function validateAnnouncement(bytes: Uint8Array, now = Date.now()): Announcement {
  const o = decode(bytes);
  if (o.type !== "announce") fail('announcement "type" must be "announce"');
  const id = str(o, "package_id", 128);
  if (!isValidPackageId(id)) fail(`"package_id" "${id}" is not a package id`);
  const at = isoUtcMs(o.timestamp);
  if (at === undefined) fail('"timestamp" must be ISO 8601 UTC, like "2026-11-30T12:00:00Z"');
  if (at > now + MAX_CLOCK_SKEW_MS) fail('"timestamp" is in the future');
  str(o, "peer_id", 128);
  checkVersionFields(o);
  return o as unknown as Announcement;
}
