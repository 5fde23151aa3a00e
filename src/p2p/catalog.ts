/**
 * The local P2P catalog: every valid announcement or record this node has seen, persisted in
 * `$GGEN_HOME/p2p.db` (SQLite + FTS5), answering `search --p2p` and peers' catalog queries.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import * as semver from "semver";
import {
  ftsQuery,
  packageIndexInsert,
  packageIndexSchema,
  packageIndexSearch,
  packageIndexValues,
} from "../core/mod.ts";
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
    DROP TABLE IF EXISTS catalog_fts;
    ${packageIndexSchema("catalog_index")}
  `);
  function reindex(id: string): void {
    const latest = newest(versions(id))[0];
    db.prepare("DELETE FROM catalog_index WHERE id = ?").run(id);
    if (!latest) return;
    db.prepare(packageIndexInsert("catalog_index")).run(
      ...packageIndexValues({
        id: latest.package_id,
        name: latest.name,
        description: latest.description,
        tags: latest.tags,
        keywords: [],
      }),
    );
  }
  function versions(id: string): CatalogEntry[] {
    return (db.prepare("SELECT * FROM catalog WHERE package_id = ?").all(id) as Row[]).map(toEntry);
  }
  const newest = (rows: CatalogEntry[]) => {
    const byId = new Map<string, CatalogEntry>();
    for (const e of rows) {
      const cur = byId.get(e.package_id);
      if (!cur || semver.gt(e.version, cur.version)) byId.set(e.package_id, e);
    }
    return [...byId.values()];
  };
  // The index is derived: rebuild it when it is new (a catalog from before the shared index)
  if (Number((db.prepare("SELECT count(*) AS n FROM catalog_index").get() as Row).n) === 0) {
    for (const r of db.prepare("SELECT DISTINCT package_id FROM catalog").all() as Row[]) {
      reindex(String(r.package_id));
    }
  }
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
      reindex(a.package_id);
    },
    search(text, limit) {
      const query = ftsQuery(text);
      const ids = query === ""
        ? (db.prepare("SELECT DISTINCT package_id FROM catalog ORDER BY package_id LIMIT ?").all(limit) as Row[])
        : (db.prepare(packageIndexSearch("catalog_index")).all(query, text.trim().toLowerCase(), limit, 0) as Row[])
          .map((r) => ({ package_id: r.id }));
      const out: CatalogEntry[] = [];
      for (const r of ids) {
        const best = newest(this.versions(String(r.package_id)));
        if (best[0]) out.push(best[0]);
      }
      return out;
    },
    versions,
    size() {
      return Number((db.prepare("SELECT count(*) AS n FROM catalog").get() as Row).n);
    },
    close() {
      db.close();
    },
  };
}
