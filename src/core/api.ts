/**
 * The central registry's HTTP API, versioned under `/api/v1`: paths and bodies, shared by the
 * server and the central client so the two cannot drift.
 * @module
 */
import type { PackageVersion, SearchHit } from "./package.ts";
import { sha256Hex } from "./digest.ts";

/** Prefix of every API path */
export const API_PREFIX = "/api/v1";
/** Header carrying the publisher's claimed SHA-256 of the body */
export const SHA256_HEADER = "x-ggen-sha256";
/** Header carrying base64(JSON envelope) of the PublishStatement */
export const SIGNATURE_HEADER = "x-ggen-signature";
/** Header carrying the base64 raw Ed25519 public key that signed */
export const PUBLIC_KEY_HEADER = "x-ggen-public-key";
/** Largest metadata document a client reads (defeats endless-data attacks) */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024;

/** Builders for every API path */
export const apiPaths = {
  health: () => `${API_PREFIX}/health`,
  search: (q: string, limit: number, offset: number) =>
    `${API_PREFIX}/search?q=${encodeURIComponent(q)}&limit=${limit}&offset=${offset}`,
  package: (id: string) => `${API_PREFIX}/packages/${encodeURIComponent(id)}`,
  version: (id: string, version: string) =>
    `${API_PREFIX}/packages/${encodeURIComponent(id)}/${encodeURIComponent(version)}`,
  tarball: (id: string, version: string) =>
    `${API_PREFIX}/packages/${encodeURIComponent(id)}/${encodeURIComponent(version)}/tarball`,
  blob: (sha256: string) => `${API_PREFIX}/blobs/${sha256}`,
  owners: (id: string) => `${API_PREFIX}/packages/${encodeURIComponent(id)}/owners`,
  registryKey: () => `${API_PREFIX}/registry/key`,
  yank: (id: string, version: string) =>
    `${API_PREFIX}/packages/${encodeURIComponent(id)}/${encodeURIComponent(version)}/yank`,
  unyank: (id: string, version: string) =>
    `${API_PREFIX}/packages/${encodeURIComponent(id)}/${encodeURIComponent(version)}/unyank`,
} as const;

/** GET search */
export interface SearchResponse {
  /** How many results match in all */
  total: number;
  /** This page of results */
  hits: SearchHit[];
}

/** GET registry key */
export interface RegistryKeyResponse {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 raw Ed25519 public key */
  public_key: string;
}

/**
 * `GET /index.json`: the registry in the format of ggen's own marketplace index, so tools that
 * read ggen's index read a ggen registry too, and a copy on any web server is a read-only central
 * source (`ggen registry export`). ggen's fields first; `id`, `sha256`, `size` and `releases`
 * are this registry's additions (ggen's own index has none of them).
 */
export interface IndexJson {
  /** Format version of this document */
  version: string;
  /** When it was built, ISO 8601 UTC */
  updated_at: string;
  /** How many packages it lists */
  package_count: number;
  /** Categories of the packages */
  categories: string[];
  /** Every package with a version, by id */
  packages: IndexEntry[];
}

/** One package of {@link IndexJson} */
export interface IndexEntry {
  /** Human-readable name (ggen's index names packages by it) */
  name: string;
  /** Reverse-DNS package id */
  id: string;
  /** The version shown: the highest not yanked */
  version: string;
  /** Every version, oldest first */
  versions: string[];
  /** One-line description */
  description: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** `id@range` of each dependency of the shown version, as ggen's array form */
  dependencies: string[];
  /** Where the package lives in the registry's API */
  path: string;
  /** The shown version's tarball */
  download_url: string;
  /** SHA-256 of that tarball, hex */
  sha256: string;
  /** Its size in bytes */
  size: number;
  /** Every version, oldest first, signed by its publisher, with where its tarball is */
  releases: IndexRelease[];
}

/** One version of an {@link IndexEntry}: the API's version document and where its tarball is */
export interface IndexRelease extends PackageVersion {
  /** The tarball, absolute or relative to the index's URL */
  download_url: string;
}

/** Every 4xx/5xx body */
export interface ErrorResponse {
  /** The domain error name, e.g. "NotFoundError" */
  code: string;
  /** What went wrong, for a person */
  message: string;
}

/** Status code for each domain error name; the client maps it back by `code` */
export const ERROR_STATUS: Record<string, number> = {
  ValidationError: 400,
  TypeError: 400,
  RangeError: 400,
  SyntaxError: 400,
  UnauthorizedError: 401,
  TrustError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  TooLargeError: 413,
  IntegrityError: 422,
  RateLimitError: 429,
  UnavailableError: 503,
};

const TOKEN_PATTERN = /^ggen_([A-Za-z0-9_-]{32})([0-9a-f]{6})$/;

/** The 6-hex checksum that ends a token: a mistyped or truncated token is caught before use */
export function tokenChecksum(secret: string): string {
  return sha256Hex(new TextEncoder().encode(`ggen:${secret}`)).slice(0, 6);
}

/**
 * True when `token` has the ggen shape (`ggen_` + 32 base64url characters + a 6-hex checksum,
 * recognisable by secret scanners) and a valid checksum
 */
export function isWellFormedToken(token: string): boolean {
  const m = TOKEN_PATTERN.exec(token);
  return m !== null && tokenChecksum(m[1]!) === m[2];
}
