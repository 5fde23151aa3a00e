/**
 * The local P2P catalog: every valid announcement or record this node has seen, persisted in
 * `$GGEN_HOME/p2p.db` (SQLite + FTS5), answering `search --p2p` and peers' catalog queries.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import * as semver from "semver";
import { ftsQuery } from "../core/fts.ts";
import type { Announcement } from "./records.ts";

/** One catalog row: a version of a package and who announced it */
export interface CatalogEntry {
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Size of the tarball in bytes */
  size_bytes: number;
  /** Search tags */
  tags: string[];
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** PeerId of the announcing peer; must be the gossip signer */
  peer_id: string;
  /** Milliseconds since the epoch (ISO 8601 text in statements) */
  timestamp: number;
}

/** The catalog */
export interface Catalog {
  /** Add an entry */
  add(a: Announcement): void;
  /** Newest version per package matching the text, at most `limit` */
  search(text: string, limit: number): CatalogEntry[];
  /** Every known version of a package */
  versions(id: string): CatalogEntry[];
  /** Size in bytes */
  size(): number;
  /** Close, releasing the underlying resources */
  close(): void;
}

type Row = Record<string, unknown>;

function toEntry(r: Row): CatalogEntry {
  return {
    package_id: String(r.package_id),
    version: String(r.version),
    name: String(r.name),
    description: String(r.description),
    sha256: String(r.sha256),
    size_bytes: Number(r.size_bytes),
    tags: JSON.parse(String(r.tags)),
    dependencies: JSON.parse(String(r.dependencies)),
    peer_id: String(r.peer_id),
    timestamp: Number(r.timestamp),
  };
}

/** Open the catalog database at `path` (":memory:" for tests) */
export function openCatalog(path: string): Catalog {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS catalog (
      package_id TEXT NOT NULL, version TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
      sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL, tags TEXT NOT NULL, dependencies TEXT NOT NULL,
      peer_id TEXT NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (package_id, version)
    );
    CREATE VIRTUAL TABLE IF NOT EXISTS catalog_fts USING fts5(package_id, name, description, tags);
  `);
  const newest = (rows: CatalogEntry[]) => {
    const byId = new Map<string, CatalogEntry>();
    for (const e of rows) {
      const cur = byId.get(e.package_id);
      if (!cur || semver.gt(e.version, cur.version)) byId.set(e.package_id, e);
    }
    return [...byId.values()];
  };
  return {
    add(a) {
      const existing = db.prepare("SELECT sha256 FROM catalog WHERE package_id = ? AND version = ?").get(
        a.package_id,
        a.version,
      ) as
        | Row
        | undefined;
      // First announcement of a version wins: a later, different sha256 is a conflict, not an update
      if (existing) return;
      db.prepare(
        `INSERT INTO catalog (package_id, version, name, description, sha256, size_bytes, tags, dependencies, peer_id, timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        a.package_id,
        a.version,
        a.name,
        a.description,
        a.sha256,
        a.size_bytes,
        JSON.stringify(a.tags),
        JSON.stringify(a.dependencies),
        a.peer_id,
        a.timestamp,
      );
      db.prepare("DELETE FROM catalog_fts WHERE package_id = ?").run(a.package_id);
      db.prepare("INSERT INTO catalog_fts (package_id, name, description, tags) VALUES (?, ?, ?, ?)").run(
        a.package_id,
        a.name,
        a.description,
        a.tags.join(" "),
      );
    },
    search(text, limit) {
      const query = ftsQuery(text);
      const ids = query === ""
        ? (db.prepare("SELECT DISTINCT package_id FROM catalog ORDER BY package_id LIMIT ?").all(limit) as Row[])
        : (db.prepare(
          "SELECT package_id FROM catalog_fts WHERE catalog_fts MATCH ? ORDER BY (package_id = ?) DESC, bm25(catalog_fts, 10.0, 5.0, 1.0, 3.0) LIMIT ?",
        ).all(query, text.trim().toLowerCase(), limit) as Row[]);
      const out: CatalogEntry[] = [];
      for (const r of ids) {
        const best = newest(this.versions(String(r.package_id)));
        if (best[0]) out.push(best[0]);
      }
      return out;
    },
    versions(id) {
      return (db.prepare("SELECT * FROM catalog WHERE package_id = ?").all(id) as Row[]).map(toEntry);
    },
    size() {
      return Number((db.prepare("SELECT count(*) AS n FROM catalog").get() as Row).n);
    },
    close() {
      db.close();
    },
  };
}
