/**
 * API tokens: `ggen_` + 32 random base64url characters + a 6-hex checksum, so a leaked token is
 * recognisable by scanners. Only the SHA-256 of a token is stored.
 * @module
 */
import { isWellFormedToken, sha256Hex, tokenChecksum, UnauthorizedError } from "../../core/mod.ts";
import type { MetadataStore, TokenRow } from "./storage.ts";

/** Every scope a token may carry */
export const TOKEN_SCOPES = ["publish-new", "publish-update", "yank", "owners"] as const;
/** One scope */
export type TokenScope = typeof TOKEN_SCOPES[number];

export { isWellFormedToken };

/** Hash under which a token is stored */
export function hashToken(token: string): string {
  return sha256Hex(new TextEncoder().encode(token));
}

/** Options for {@link createToken} */
export interface CreateTokenInit {
  /** Human-readable name */
  name?: string;
  /** Scopes the token carries */
  scopes?: TokenScope[];
  /** Only this id and the ids below it */
  idPrefix?: string;
  /** Lifetime in days; 0 or absent means no expiry */
  expiresInDays?: number;
}

/** Create and store a token; the plain token is returned once and never stored */
export async function createToken(
  store: MetadataStore,
  init: CreateTokenInit = {},
): Promise<{ token: string; row: TokenRow }> {
  const random = crypto.getRandomValues(new Uint8Array(24));
  const secret = btoa(String.fromCharCode(...random)).replaceAll("+", "-").replaceAll("/", "_");
  const token = `ggen_${secret}${tokenChecksum(secret)}`;
  const now = new Date();
  const row: TokenRow = {
    hash: hashToken(token),
    name: init.name ?? "default",
    scopes: (init.scopes ?? [...TOKEN_SCOPES]).join(","),
    id_prefix: init.idPrefix ?? "",
    created_at: now.toISOString(),
    expires_at: init.expiresInDays ? new Date(now.getTime() + init.expiresInDays * 86_400_000).toISOString() : "",
    revoked: 0,
  };
  await store.insertToken(row);
  return { token, row };
}

/** The stored row of a bearer token that is known, unrevoked and unexpired; undefined otherwise */
export async function validTokenRow(store: MetadataStore, header: string | null): Promise<TokenRow | undefined> {
  const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (!token || !isWellFormedToken(token)) return undefined;
  const row = await store.findToken(hashToken(token));
  if (!row || row.revoked) return undefined;
  if (row.expires_at && Date.parse(row.expires_at) < Date.now()) return undefined;
  return row;
}

/**
 * True when `id` lies under `prefix` on id segments: `io.acme` admits `io.acme` and
 * `io.acme.cli`, never `io.acmeevil.pkg`. A prefix ending in "." admits only ids below it.
 */
export function idHasPrefix(id: string, prefix: string): boolean {
  if (prefix === "") return true;
  if (prefix.endsWith(".")) return id.startsWith(prefix);
  return id === prefix || id.startsWith(`${prefix}.`);
}

/**
 * Check a bearer token for a scope on a package id.
 * @throws {UnauthorizedError} naming what is missing
 */
export async function authorize(
  store: MetadataStore,
  header: string | null,
  scope: TokenScope,
  id: string,
): Promise<TokenRow> {
  const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (!token) {
    throw new UnauthorizedError(
      "Missing bearer token: run `ggen login` with the token an operator created (`ggen registry token create`), or " +
        "set GGEN_TOKEN or [registry] token",
    );
  }
  if (!isWellFormedToken(token)) throw new UnauthorizedError("Invalid token: not a ggen token");
  const row = await store.findToken(hashToken(token));
  if (!row || row.revoked) throw new UnauthorizedError("Invalid token: unknown or revoked");
  if (row.expires_at && Date.parse(row.expires_at) < Date.now()) throw new UnauthorizedError("Invalid token: expired");
  if (!row.scopes.split(",").includes(scope)) {
    throw new UnauthorizedError(`Token "${row.name}" lacks the "${scope}" scope`);
  }
  if (!idHasPrefix(id, row.id_prefix)) {
    throw new UnauthorizedError(`Token "${row.name}" may only touch "${row.id_prefix}" and the ids below it`);
  }
  return row;
}
