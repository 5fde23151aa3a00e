/**
 * The embedded metadata store: SQLite through `node:sqlite`, with an FTS5 index over id, name,
 * description, tags and keywords. The only file with SQL.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ConflictError } from "../../core/errors.ts";
import type { PackageInfo, PackageVersion, SearchHit } from "../../core/package.ts";
import * as semver from "semver";
import type { MetadataStore, TokenRow } from "./storage.ts";

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS packages (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
  id TEXT NOT NULL REFERENCES packages(id),
  version TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  tags TEXT NOT NULL,
  keywords TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  dependencies TEXT NOT NULL,
  yanked INTEGER NOT NULL DEFAULT 0,
  published_at TEXT NOT NULL,
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS versions_sha256 ON versions(sha256);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(id, name, description, tags, keywords);
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

/** Turn free text into an FTS5 query of prefix terms, all required; quoting defuses syntax */
export function ftsQuery(text: string): string {
  const terms = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, 16);
  return terms.map((t) => `"${t}"*`).join(" ");
}

type Row = Record<string, unknown>;

function toVersion(r: Row): PackageVersion {
  return {
    id: String(r.id),
    version: String(r.version),
    name: String(r.name),
    description: String(r.description),
    tags: JSON.parse(String(r.tags)),
    keywords: JSON.parse(String(r.keywords)),
    sha256: String(r.sha256),
    size: Number(r.size),
    dependencies: JSON.parse(String(r.dependencies)),
    yanked: Number(r.yanked) === 1,
    published_at: String(r.published_at),
  };
}

/** Open (and migrate) the SQLite metadata store at `path` */
export function openSqliteMetadata(path: string): MetadataStore {
  const db = new DatabaseSync(path);
  db.exec(SCHEMA);
  return new SqliteMetadata(db);
}

class SqliteMetadata implements MetadataStore {
  #db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #latest(id: string): PackageVersion | undefined {
    const versions = this.#versions(id);
    const live = versions.filter((v) => !v.yanked);
    return (live.length ? live : versions).at(-1);
  }

  #versions(id: string): PackageVersion[] {
    const rows = this.#db.prepare("SELECT * FROM versions WHERE id = ?").all(id) as Row[];
    return rows.map(toVersion).sort((a, b) => semver.compare(a.version, b.version));
  }

  search(text: string, limit: number, offset: number): { total: number; hits: SearchHit[] } {
    const q = ftsQuery(text);
    let ids: string[];
    let total: number;
    if (q === "") {
      total = Number((this.#db.prepare("SELECT count(*) AS n FROM packages").get() as Row).n);
      ids = (this.#db.prepare("SELECT id FROM packages ORDER BY id LIMIT ? OFFSET ?").all(limit, offset) as Row[])
        .map((r) => String(r.id));
    } else {
      total = Number((this.#db.prepare("SELECT count(*) AS n FROM search WHERE search MATCH ?").get(q) as Row).n);
      // Exact id first, then BM25 with the id and name weighted above the prose
      ids = (this.#db.prepare(
        `SELECT id FROM search WHERE search MATCH ?
         ORDER BY (id = ?) DESC, bm25(search, 10.0, 5.0, 1.0, 3.0, 3.0), id LIMIT ? OFFSET ?`,
      ).all(q, text.trim().toLowerCase(), limit, offset) as Row[]).map((r) => String(r.id));
    }
    const hits: SearchHit[] = [];
    for (const id of ids) {
      const v = this.#latest(id);
      if (v) {
        hits.push({
          id,
          name: v.name,
          version: v.version,
          description: v.description,
          tags: v.tags,
          source: "central",
        });
      }
    }
    return { total, hits };
  }

  getPackage(id: string): PackageInfo | undefined {
    const versions = this.#versions(id);
    const latest = this.#latest(id);
    if (!latest) return undefined;
    return { id, name: latest.name, description: latest.description, versions };
  }

  getVersion(id: string, version: string): PackageVersion | undefined {
    const r = this.#db.prepare("SELECT * FROM versions WHERE id = ? AND version = ?").get(id, version) as
      | Row
      | undefined;
    return r ? toVersion(r) : undefined;
  }

  insertVersion(v: PackageVersion): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (this.getVersion(v.id, v.version)) {
        throw new ConflictError(`Cannot publish "${v.id}@${v.version}": that version already exists`);
      }
      this.#db.prepare("INSERT OR IGNORE INTO packages (id, created_at) VALUES (?, ?)").run(v.id, v.published_at);
      this.#db.prepare(
        `INSERT INTO versions (id, version, name, description, tags, keywords, sha256, size, dependencies, yanked, published_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        v.id,
        v.version,
        v.name,
        v.description,
        JSON.stringify(v.tags),
        JSON.stringify(v.keywords),
        v.sha256,
        v.size,
        JSON.stringify(v.dependencies),
        v.yanked ? 1 : 0,
        v.published_at,
      );
      this.#reindex(v.id);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #reindex(id: string): void {
    const latest = this.#latest(id);
    this.#db.prepare("DELETE FROM search WHERE id = ?").run(id);
    if (!latest) return;
    this.#db.prepare("INSERT INTO search (id, name, description, tags, keywords) VALUES (?, ?, ?, ?, ?)").run(
      id,
      latest.name,
      latest.description,
      latest.tags.join(" "),
      latest.keywords.join(" "),
    );
  }

  setYanked(id: string, version: string, yanked: boolean): boolean {
    const result = this.#db.prepare("UPDATE versions SET yanked = ? WHERE id = ? AND version = ?").run(
      yanked ? 1 : 0,
      id,
      version,
    );
    if (Number(result.changes) > 0) this.#reindex(id);
    return Number(result.changes) > 0;
  }

  isBlobReferenced(sha256: string): boolean {
    return this.#db.prepare("SELECT 1 FROM versions WHERE sha256 = ? LIMIT 1").get(sha256) !== undefined;
  }

  listBlobDigests(): string[] {
    return (this.#db.prepare("SELECT DISTINCT sha256 FROM versions").all() as Row[]).map((r) => String(r.sha256));
  }

  insertToken(t: TokenRow): void {
    this.#db.prepare(
      "INSERT INTO tokens (hash, name, scopes, id_prefix, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(t.hash, t.name, t.scopes, t.id_prefix, t.created_at, t.expires_at, t.revoked);
  }

  findToken(hash: string): TokenRow | undefined {
    return this.#db.prepare("SELECT * FROM tokens WHERE hash = ?").get(hash) as TokenRow | undefined;
  }

  revokeToken(hash: string): boolean {
    return Number(this.#db.prepare("UPDATE tokens SET revoked = 1 WHERE hash = ?").run(hash).changes) > 0;
  }

  close(): void {
    this.#db.close();
  }
}
