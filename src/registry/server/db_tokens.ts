/**
 * The API tokens in the SQLite metadata store (stored by hash: see tokens.ts), beside db.ts.
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { MetadataStore, TokenRow } from "./storage.ts";

/** The store's methods as node:sqlite runs them: synchronously */
export type Sync<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};

/** The metadata store's methods over the tokens table */
export const TOKEN_METHODS = [
  "insertToken",
  "findToken",
  "findTokensByHashPrefix",
  "revokeToken",
  "listTokens",
  "importToken",
] as const satisfies readonly (keyof MetadataStore)[];

/** One of {@link TOKEN_METHODS} */
export type TokenMethod = typeof TOKEN_METHODS[number];

/** The tokens table, through the store's prepared statements */
export class SqliteTokens implements Sync<Pick<MetadataStore, TokenMethod>> {
  #prepare: (sql: string) => StatementSync;
  constructor(prepare: (sql: string) => StatementSync) {
    this.#prepare = prepare;
  }

  /** Insert `t`; with `orIgnore` a token already there (by hash) is left as it is */
  #insert(t: TokenRow, orIgnore: boolean): boolean {
    const verb = orIgnore ? "INSERT OR IGNORE" : "INSERT";
    return Number(
      this.#prepare(
        `${verb} INTO tokens (hash, name, scopes, id_prefix, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(t.hash, t.name, t.scopes, t.id_prefix, t.created_at, t.expires_at, t.revoked).changes,
    ) > 0;
  }

  insertToken(t: TokenRow): void {
    this.#insert(t, false);
  }

  importToken(t: TokenRow): boolean {
    return this.#insert(t, true);
  }

  listTokens(): TokenRow[] {
    return this.#prepare("SELECT * FROM tokens ORDER BY hash").all() as unknown as TokenRow[];
  }

  findToken(hash: string): TokenRow | undefined {
    return this.#prepare("SELECT * FROM tokens WHERE hash = ?").get(hash) as TokenRow | undefined;
  }

  findTokensByHashPrefix(prefix: string): TokenRow[] {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    return this.#prepare("SELECT * FROM tokens WHERE substr(hash, 1, ?) = ? LIMIT 2").all(
      prefix.length,
      prefix,
    ) as unknown as TokenRow[];
  }

  revokeToken(hash: string): boolean {
    return Number(this.#prepare("UPDATE tokens SET revoked = 1 WHERE hash = ?").run(hash).changes) > 0;
  }
}
