/**
 * Storage behind the central registry: metadata and blobs, each an interface so a PostgreSQL
 * and an S3-compatible backend can follow the embedded SQLite + files default.
 * @module
 */
import type { Envelope } from "../../core/envelope.ts";
import type { OwnerKey, PackageInfo, PackageVersion, SearchHit } from "../../core/package.ts";

/** Metadata store of the registry */
export interface MetadataStore {
  search(text: string, limit: number, offset: number): { total: number; hits: SearchHit[] };
  getPackage(id: string): PackageInfo | undefined;
  getVersion(id: string, version: string): PackageVersion | undefined;
  /**
   * Insert a version (and the package on first publish) in one transaction.
   * @throws {ConflictError} when the version exists
   */
  insertVersion(v: PackageVersion, publish: PublishAuth): void;
  /** The package's metadata seq: grows with every change */
  packageSeq(id: string): number;
  /** Highest publish seq signed so far */
  maxPublishSeq(id: string): number;
  getOwners(id: string): OwnerKey[];
  getOwnerLog(id: string): Envelope[];
  /**
   * Apply a verified owner change and append it to the log.
   * @throws {ConflictError} for a stale seq or removing the last owner
   */
  changeOwners(id: string, change: OwnerChange): void;
  setYanked(id: string, version: string, yanked: boolean): boolean;
  /** True when any version references the blob */
  isBlobReferenced(sha256: string): boolean;
  /** Every referenced blob digest */
  listBlobDigests(): string[];
  insertToken(t: TokenRow): void;
  findToken(hash: string): TokenRow | undefined;
  /** Tokens whose hash starts with `prefix` (a token id); at most two, to tell ambiguity */
  findTokensByHashPrefix(prefix: string): TokenRow[];
  revokeToken(hash: string): boolean;
  close(): void;
}

/** The verified signature facts of a publish */
export interface PublishAuth {
  keyid: string;
  /** base64 raw public key */
  publicKey: string;
  seq: number;
}

/** A verified owner change */
export interface OwnerChange {
  action: "add" | "remove";
  keyid: string;
  publicKey: string;
  seq: number;
  envelope: Envelope;
}

/** A stored token: only its hash */
export interface TokenRow {
  hash: string;
  name: string;
  /** Comma-separated: publish-new, publish-update, yank, owners */
  scopes: string;
  /** Only ids starting with this may be touched; empty means any */
  id_prefix: string;
  created_at: string;
  /** ISO 8601 or empty for never */
  expires_at: string;
  revoked: number;
}

/** An inclusive byte range */
export interface ByteRange {
  start: number;
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
  size(sha256: string): Promise<number | undefined>;
  delete(sha256: string): Promise<void>;
  list(): Promise<string[]>;
}
