/**
 * The registry's tables, one definition for both metadata stores: SQLite (db.ts) and PostgreSQL
 * (pg.ts) differ only in how a 64-bit integer is spelt and in their full-text index, which each
 * store adds itself.
 * @module
 */

/** The CREATE statements of every table but the search index, in `dialect` */
export function registryTables(dialect: "sqlite" | "postgres"): string {
  const int64 = dialect === "sqlite" ? "INTEGER" : "BIGINT";
  return `
CREATE TABLE IF NOT EXISTS packages (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  -- grows with every change; signed into the metadata document against rollback
  seq ${int64} NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS owners (
  id TEXT NOT NULL REFERENCES packages(id),
  keyid TEXT NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (id, keyid)
);
CREATE TABLE IF NOT EXISTS owner_log (
  id TEXT NOT NULL REFERENCES packages(id),
  idx INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  PRIMARY KEY (id, idx)
);
CREATE TABLE IF NOT EXISTS versions (
  id TEXT NOT NULL REFERENCES packages(id),
  version TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  tags TEXT NOT NULL,
  keywords TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size ${int64} NOT NULL,
  dependencies TEXT NOT NULL,
  yanked INTEGER NOT NULL DEFAULT 0,
  published_at TEXT NOT NULL,
  signature TEXT NOT NULL DEFAULT '',
  publisher_key TEXT NOT NULL DEFAULT '',
  publish_seq ${int64} NOT NULL DEFAULT 0,
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS versions_sha256 ON versions(sha256);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  id_prefix TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
`;
}
