/**
 * Storage behind the central registry: metadata and blobs, each an interface so a PostgreSQL
 * and an S3-compatible backend can follow the embedded SQLite + files default.
 * @module
 */
import type { Envelope, OwnerKey, PackageInfo, PackageVersion, SearchHit } from "../../core/mod.ts";

/** A package as its signed metadata document states it */
export interface PackageDocumentState {
  /** The package with every version */
  info: PackageInfo;
  /** Its current owner keys */
  owners: OwnerKey[];
  /** Every owner change, oldest first */
  ownerLog: Envelope[];
  /** The package's metadata seq */
  seq: number;
}

/**
 * Metadata store of the registry. Asynchronous so a networked database (PostgreSQL) fits the same
 * interface as the embedded SQLite one.
 */
export interface MetadataStore {
  /** Ranked full-text search, exact id first */
  search(text: string, limit: number, offset: number): Promise<{ total: number; hits: SearchHit[] }>;
  /** A package with every version, or undefined */
  getPackage(id: string): Promise<PackageInfo | undefined>;
  /**
   * What a package's signed metadata document states, read together (one round trip to a
   * database server); undefined for a package the store does not have
   */
  getPackageDocument(id: string): Promise<PackageDocumentState | undefined>;
  /** One version, or undefined */
  getVersion(id: string, version: string): Promise<PackageVersion | undefined>;
  /**
   * Insert a version (and the package on first publish) in one transaction.
   * @throws {ConflictError} when the version exists
   */
  insertVersion(v: PackageVersion, publish: PublishAuth): Promise<void>;
  /** The package's metadata seq: grows with every change */
  packageSeq(id: string): Promise<number>;
  /** Highest publish seq signed so far */
  maxPublishSeq(id: string): Promise<number>;
  /** Current owner keys of a package */
  getOwners(id: string): Promise<OwnerKey[]>;
  /** Every owner change of a package, oldest first */
  getOwnerLog(id: string): Promise<Envelope[]>;
  /**
   * Apply a verified owner change and append it to the log.
   * @throws {ConflictError} for a stale seq or removing the last owner
   */
  changeOwners(id: string, change: OwnerChange): Promise<void>;
  /** Yank or unyank a version; false when it does not exist */
  setYanked(id: string, version: string, yanked: boolean): Promise<boolean>;
  /** True when any version references the blob */
  isBlobReferenced(sha256: string): Promise<boolean>;
  /** Every referenced blob digest */
  listBlobDigests(): Promise<string[]>;
  /** Store a token row */
  insertToken(t: TokenRow): Promise<void>;
  /** The token row with this hash */
  findToken(hash: string): Promise<TokenRow | undefined>;
  /** Tokens whose hash starts with `prefix` (a token id); at most two, to tell ambiguity */
  findTokensByHashPrefix(prefix: string): Promise<TokenRow[]>;
  /** Revoke a token; false when unknown */
  revokeToken(hash: string): Promise<boolean>;
  /** Package ids after `after` in id order, at most `limit` (a bounded walk over every package) */
  listPackageIds(after: string, limit: number): Promise<string[]>;
  /** Every row of a package, as `registry migrate` moves it; undefined when absent */
  exportPackage(id: string): Promise<PackageRecord | undefined>;
  /**
   * Insert a package's rows as exported, in one transaction. "unchanged" when the same package
   * (same seq, same versions and signatures) is already there, so a migration can run again.
   * @throws {ConflictError} when a different package of that id is there
   */
  importPackage(record: PackageRecord): Promise<"imported" | "unchanged">;
  /** Every token row (hashes only) */
  listTokens(): Promise<TokenRow[]>;
  /** Insert a token row unless one with its hash exists; true when inserted */
  importToken(t: TokenRow): Promise<boolean>;
  /** Close, releasing the underlying resources */
  close(): Promise<void>;
}

/** Every row of one package: what a migration copies, and compares afterwards */
export interface PackageRecord {
  /** Package id */
  id: string;
  /** ISO 8601 time of the first publish */
  created_at: string;
  /** The metadata seq clients have seen: kept, or they would refuse the new store's documents as a rollback */
  seq: number;
  /** Current owner keys */
  owners: OwnerKey[];
  /** Every signed owner change, oldest first */
  owner_log: Envelope[];
  /** Each version with the publish seq its signature carried */
  versions: { version: PackageVersion; publish_seq: number }[];
}

/** The verified signature facts of a publish */
export interface PublishAuth {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 raw public key */
  publicKey: string;
  /** Counter that only grows */
  seq: number;
}

/** A verified owner change */
export interface OwnerChange {
  /** Add or remove the key */
  action: "add" | "remove";
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 raw Ed25519 public key */
  publicKey: string;
  /** Counter that only grows */
  seq: number;
  /** The signed change, kept in the owner log */
  envelope: Envelope;
}

/** A stored token: only its hash */
export interface TokenRow {
  /** SHA-256 of the token: the only form stored */
  hash: string;
  /** Label of the token */
  name: string;
  /** Comma-separated: publish-new, publish-update, yank, owners */
  scopes: string;
  /** Only ids starting with this may be touched; empty means any */
  id_prefix: string;
  /** ISO 8601 creation time */
  created_at: string;
  /** ISO 8601 or empty for never */
  expires_at: string;
  /** 1 when revoked */
  revoked: number;
}

/** An inclusive byte range */
export interface ByteRange {
  /** First byte, inclusive */
  start: number;
  /** Last byte, inclusive */
  end: number;
}

/** Blob store of the registry, by SHA-256 */
export interface BlobStore {
  /** Store bytes atomically under their digest (verified by the caller) */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /**
   * The bytes of a blob, or of the inclusive byte range `range` of it; undefined when absent.
   * A stream, so a backend may read a file, an object store or anything else.
   */
  open(sha256: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Size in bytes */
  size(sha256: string): Promise<number | undefined>;
  /** Remove a blob (no error when absent) */
  delete(sha256: string): Promise<void>;
  /** Every blob digest */
  list(): Promise<string[]>;
  /** Throws when the store cannot be reached or written (for `/ready`) */
  check(): Promise<void>;
}

/** True when two exports hold the same package: seq, owners, and every version's bytes, signature and yank */
export function samePackage(a: PackageRecord, b: PackageRecord): boolean {
  const versionKey = (r: PackageRecord) =>
    JSON.stringify(
      r.versions.map(({ version: v }) => [v.version, v.sha256, v.yanked, v.signature ?? null, v.publisher_key ?? ""])
        .sort(),
    );
  const ownerKey = (r: PackageRecord) => JSON.stringify(r.owners.map((o) => o.keyid).sort());
  return a.id === b.id && a.seq === b.seq && versionKey(a) === versionKey(b) && ownerKey(a) === ownerKey(b) &&
    a.owner_log.length === b.owner_log.length;
}
