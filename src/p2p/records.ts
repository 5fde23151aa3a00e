/**
 * ggen's DHT records (design §4.1), their keys, validation, signature checks and selection
 * (gossip announcements are in announcements.ts). The logical name `ggen://{id}/{version}` is stored under the libp2p record key
 * `/ggen/{id}/{version}` (libp2p routes validators by the first key segment), and
 * `ggen://{id}` under `/ggen/{id}`.
 * @module
 */
import {
  canonicalJson,
  checkPublishStatement,
  type Envelope,
  fromBase64,
  isSha256Hex,
  isValidPackageId,
  isValidVersion,
  PAYLOAD_TYPES,
  type PublishStatement,
  RECORD_NAMESPACE,
  ValidationError,
  verifyEnvelope,
} from "../core/mod.ts";
import {
  checkProviders,
  checkSignatureFields,
  checkVersionFields,
  decode,
  fail,
  MAX_CLOCK_SKEW_MS,
  str,
  strList,
} from "./record_fields.ts";

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

/** Most versions an index record may list */
const MAX_INDEX_VERSIONS = 200;

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
