/**
 * The local P2P catalog: every valid announcement or record this node has seen, persisted in
 * `$GGEN_HOME/p2p.db` (SQLite + FTS5), answering `search --p2p` and peers' catalog queries.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import type { Envelope } from "../core/mod.ts";
import * as semver from "semver";
import {
  ftsQuery,
  packageIndexInsert,
  packageIndexSchema,
  packageIndexSearch,
  packageIndexValues,
} from "../core/mod.ts";
import type { Announcement } from "./announcements.ts";

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
  /** When it was announced: ISO 8601 UTC, as in the announcement */
  timestamp: string;
  /** The publisher's DSSE envelope over the version: checked on receipt, re-served with the entry */
  signature?: Envelope;
  /** base64 raw Ed25519 public key of the publisher */
  publisher_key?: string;
}

/** A signed catalog entry and the peers whose catalogs returned it */
export interface VouchedEntry {
  /** The entry, its publisher signature verified */
  entry: CatalogEntry;
  /** PeerIds that returned exactly this signed statement, or announced holding its bytes */
  from: string[];
  /** Connected peers among them that announced holding the bytes themselves */
  holders?: string[];
}

/** Bounds of the catalog */
export interface CatalogLimits {
  /** Most entries kept; the oldest announcements are evicted past it. @default 50,000 */
  maxEntries?: number;
  /** Most entries one publisher key may hold. @default 1,000 */
  maxPerPublisher?: number;
}

/** The catalog */
export interface Catalog {
  /**
   * Add a verified entry (see `verifyAnnouncement`) signed by `keyid`.
   * @returns false when refused: a conflicting entry exists or the publisher's quota is full
   */
  add(a: Announcement, keyid: string): boolean;
  /** Newest version per package matching the text, at most `limit` */
  search(text: string, limit: number): CatalogEntry[];
  /** Every known version of a package, newest first */
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
    timestamp: new Date(Number(r.timestamp)).toISOString(),
    ...(r.signature ? { signature: JSON.parse(String(r.signature)) as Envelope } : {}),
    ...(r.publisher_key ? { publisher_key: String(r.publisher_key) } : {}),
  };
}

/** Open the catalog database at `path` (":memory:" for tests) */
export function openCatalog(path: string, limits: CatalogLimits = {}): Catalog {
  const maxEntries = limits.maxEntries ?? 50_000;
  const maxPerPublisher = limits.maxPerPublisher ?? 1_000;
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS catalog (
      package_id TEXT NOT NULL, version TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
      sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL, tags TEXT NOT NULL, dependencies TEXT NOT NULL,
      peer_id TEXT NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (package_id, version)
    );
    DROP TABLE IF EXISTS catalog_fts;
    CREATE INDEX IF NOT EXISTS catalog_timestamp ON catalog(timestamp);
    ${packageIndexSchema("catalog_index")}
  `);
  // Signatures are kept with each entry, so what this node re-serves can be checked; entries of
  // catalogs from before (unsigned, unverifiable) are dropped
  const columns = new Set((db.prepare("PRAGMA table_info(catalog)").all() as Row[]).map((r) => String(r.name)));
  if (!columns.has("signature")) {
    db.exec(`ALTER TABLE catalog ADD COLUMN signature TEXT NOT NULL DEFAULT '';
      ALTER TABLE catalog ADD COLUMN publisher_key TEXT NOT NULL DEFAULT '';
      ALTER TABLE catalog ADD COLUMN keyid TEXT NOT NULL DEFAULT '';
      DELETE FROM catalog WHERE signature = '';
      DELETE FROM catalog_index;`);
  }
  db.exec("CREATE INDEX IF NOT EXISTS catalog_keyid ON catalog(keyid);");
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
    return (db.prepare("SELECT * FROM catalog WHERE package_id = ?").all(id) as Row[]).map(toEntry)
      .sort((a, b) => semver.rcompare(a.version, b.version));
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
    add(a, keyid) {
      const existing = db.prepare("SELECT sha256 FROM catalog WHERE package_id = ? AND version = ?").get(
        a.package_id,
        a.version,
      ) as
        | Row
        | undefined;
      // First announcement of a version wins: a later, different sha256 is a conflict, not an update
      if (existing) return false;
      // A publisher cannot fill the catalog: a quota per key
      const held = Number((db.prepare("SELECT count(*) AS n FROM catalog WHERE keyid = ?").get(keyid) as Row).n);
      if (held >= maxPerPublisher) return false;
      db.prepare(
        `INSERT INTO catalog (package_id, version, name, description, sha256, size_bytes, tags, dependencies, peer_id,
           timestamp, signature, publisher_key, keyid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        Date.parse(a.timestamp),
        JSON.stringify(a.signature ?? null),
        a.publisher_key ?? "",
        keyid,
      );
      reindex(a.package_id);
      // Bounded: past the cap the oldest announcements go
      const total = Number((db.prepare("SELECT count(*) AS n FROM catalog").get() as Row).n);
      if (total > maxEntries) {
        const old = db.prepare("SELECT package_id, version FROM catalog ORDER BY timestamp LIMIT ?").all(
          total - maxEntries,
        ) as Row[];
        for (const r of old) {
          db.prepare("DELETE FROM catalog WHERE package_id = ? AND version = ?").run(
            String(r.package_id),
            String(r.version),
          );
          reindex(String(r.package_id));
        }
      }
      return true;
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
