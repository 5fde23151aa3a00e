/**
 * The central registry's HTTP API, versioned under `/api/v1`: paths and bodies, shared by the
 * server and the central client so the two cannot drift.
 * @module
 */
import type { SearchHit } from "./package.ts";
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
