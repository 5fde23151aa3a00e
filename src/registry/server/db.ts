/**
 * The embedded metadata store: SQLite through `node:sqlite`, with an FTS5 index over id, name,
 * description, tags and keywords. With db_tokens.ts (the API tokens), the only files with SQLite's SQL.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  ConflictError,
  type Envelope,
  ftsQuery,
  type OwnerKey,
  packageIndexCount,
  packageIndexInsertAt,
  packageIndexSchema,
  packageIndexSearch,
  packageIndexValues,
  type PackageInfo,
  type PackageVersion,
  type SearchHit,
  TrustError,
} from "../../core/mod.ts";
import * as semver from "semver";
import { registryTables } from "./schema.ts";
import { differentPackage, latestOf, packageOf, searchHits, toVersion, versionsOf } from "./rows.ts";
import {
  type MetadataStore,
  type OwnerChange,
  type PackageDocumentState,
  type PackageRecord,
  type PublishAuth,
  samePackage,
} from "./storage.ts";
import { SqliteTokens, type Sync, TOKEN_METHODS, type TokenMethod } from "./db_tokens.ts";

/**
 * `PRAGMA user_version` of the search index: 1 keyed by package rowid, 2 with prefix indexes.
 * An older index is dropped and built again once (an FTS5 table's options cannot be altered)
 */
const SEARCH_INDEX_VERSION = 2;

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
${registryTables("sqlite")}
${packageIndexSchema("search")}
`;

type Row = Record<string, unknown>;

const METHODS: Exclude<keyof MetadataStore, TokenMethod>[] = [
  "search",
  "getPackage",
  "getPackageDocument",
  "getVersion",
  "insertVersion",
  "packageSeq",
  "maxPublishSeq",
  "getOwners",
  "getOwnerLog",
  "changeOwners",
  "setYanked",
  "isBlobReferenced",
  "listBlobDigests",
  "listPackageIds",
  "exportPackage",
  "importPackage",
  "close",
];

/** Open (and migrate) the SQLite metadata store at `path` */
export function openSqliteMetadata(path: string): MetadataStore {
  const db = new DatabaseSync(path);
  db.exec(SCHEMA);
  const prepare = statementCache(db);
  const sync = new SqliteMetadata(db, prepare);
  sync.migrateSearchIndex();
  const tokens = new SqliteTokens(prepare);
  // One statement at a time, synchronously (a transaction never interleaves with another
  // request), behind the asynchronous interface every backend shares
  const asynchronous = <T extends object>(target: T, m: keyof T) => (...args: unknown[]) => {
    try {
      return Promise.resolve((target[m] as (...a: unknown[]) => unknown).apply(target, args));
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return Object.fromEntries([
    ...METHODS.map((m) => [m, asynchronous(sync, m)]),
    ...TOKEN_METHODS.map((m) => [m, asynchronous(tokens, m)]),
  ]) as unknown as MetadataStore;
}

/** Prepared statements kept per store (the query texts are few; `IN (?, …)` lists vary by length) */
const MAX_STATEMENTS = 256;

/** Prepared statements of `db`, each compiled once: compiling was a third of a metadata GET */
function statementCache(db: DatabaseSync): (sql: string) => StatementSync {
  const statements = new Map<string, StatementSync>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= MAX_STATEMENTS) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}

class SqliteMetadata implements Sync<Omit<MetadataStore, TokenMethod>> {
  #db: DatabaseSync;
  #prepare: (sql: string) => StatementSync;
  constructor(db: DatabaseSync, prepare: (sql: string) => StatementSync) {
    this.#db = db;
    this.#prepare = prepare;
  }

  #latest(id: string): PackageVersion | undefined {
    return latestOf(this.#versions(id));
  }

  #versions(id: string): PackageVersion[] {
    return versionsOf(this.#prepare("SELECT * FROM versions WHERE id = ?").all(id) as Row[]);
  }

  search(text: string, limit: number, offset: number): { total: number; hits: SearchHit[] } {
    const q = ftsQuery(text);
    let ids: string[];
    let total: number;
    if (q === "") {
      total = Number((this.#prepare("SELECT count(*) AS n FROM packages").get() as Row).n);
      ids = (this.#prepare("SELECT id FROM packages ORDER BY id LIMIT ? OFFSET ?").all(limit, offset) as Row[])
        .map((r) => String(r.id));
    } else {
      // The exact id comes first wherever the index would rank it: a primary-key lookup
      const wanted = text.trim().toLowerCase();
      const exact = this.#prepare("SELECT id FROM packages WHERE id = ?").get(wanted) ? wanted : undefined;
      // Pages are cut from the ranked window with the exact id placed first (the window is bounded)
      total = Number((this.#prepare(packageIndexCount("search")).get(q) as Row).n);
      const ranked = (this.#prepare(packageIndexSearch("search")).all(q, wanted, offset + limit + 1, 0) as Row[])
        .map((r) => String(r.id)).filter((id) => id !== exact);
      ids = (exact ? [exact, ...ranked] : ranked).slice(offset, offset + limit);
    }
    return { total, hits: this.#hits(ids) };
  }

  /** The search hits of `ids`, in order, with each package's shown version: one query for the page */
  #hits(ids: string[]): SearchHit[] {
    if (ids.length === 0) return [];
    const rows = this.#prepare(`SELECT * FROM versions WHERE id IN (${ids.map(() => "?").join(", ")})`)
      .all(...ids) as Row[];
    return searchHits(ids, rows.map(toVersion));
  }

  getPackage(id: string): PackageInfo | undefined {
    return packageOf(id, this.#versions(id));
  }

  getPackageDocument(id: string): PackageDocumentState | undefined {
    // One read transaction: the four reads see one snapshot (another process, a `ggen registry`
    // command, may write between them), and WAL's shared lock is taken once instead of four times
    this.#db.exec("BEGIN");
    try {
      const info = this.getPackage(id);
      if (!info) return undefined;
      return { info, owners: this.getOwners(id), ownerLog: this.getOwnerLog(id), seq: this.packageSeq(id) };
    } finally {
      this.#db.exec("COMMIT");
    }
  }

  getVersion(id: string, version: string): PackageVersion | undefined {
    const r = this.#prepare("SELECT * FROM versions WHERE id = ? AND version = ?").get(id, version) as
      | Row
      | undefined;
    return r ? toVersion(r) : undefined;
  }

  insertVersion(v: PackageVersion, publish: PublishAuth): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (this.getVersion(v.id, v.version)) {
        throw new ConflictError(`Cannot publish "${v.id}@${v.version}": that version already exists`);
      }
      const isNew = this.#prepare("SELECT 1 FROM packages WHERE id = ?").get(v.id) === undefined;
      if (isNew) {
        this.#prepare("INSERT INTO packages (id, created_at, seq) VALUES (?, ?, 0)").run(v.id, v.published_at);
        // The first publish binds the signing key as the package's owner
        this.#prepare("INSERT INTO owners (id, keyid, public_key) VALUES (?, ?, ?)").run(
          v.id,
          publish.keyid,
          publish.publicKey,
        );
      } else if (!this.getOwners(v.id).some((o) => o.keyid === publish.keyid)) {
        throw new TrustError(
          `Cannot publish "${v.id}@${v.version}": key ${publish.keyid} is not an owner of "${v.id}" (owners: ${
            this.getOwners(v.id).map((o) => o.keyid).join(", ")
          }); an owner can add it with \`ggen owner add ${v.id} <public key>\``,
        );
      }
      const maxSeq = Number(
        (this.#prepare("SELECT max(publish_seq) AS m FROM versions WHERE id = ?").get(v.id) as Row).m ?? 0,
      );
      if (publish.seq <= maxSeq) {
        throw new TrustError(`Cannot publish "${v.id}@${v.version}": signed seq ${publish.seq} is not above ${maxSeq}`);
      }
      this.#insertVersionRow(v, publish.seq);
      this.#bump(v.id);
      this.#reindex(v.id);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #insertVersionRow(v: PackageVersion, publishSeq: number): void {
    this.#prepare(
      `INSERT INTO versions (id, version, name, description, tags, keywords, sha256, size, dependencies, yanked, published_at,
         signature, publisher_key, publish_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      v.signature ? JSON.stringify(v.signature) : "",
      v.publisher_key ?? "",
      publishSeq,
    );
  }

  listPackageIds(after: string, limit: number): string[] {
    return (this.#prepare("SELECT id FROM packages WHERE id > ? ORDER BY id LIMIT ?").all(after, limit) as Row[])
      .map((r) => String(r.id));
  }

  exportPackage(id: string): PackageRecord | undefined {
    const p = this.#prepare("SELECT created_at, seq FROM packages WHERE id = ?").get(id) as Row | undefined;
    if (!p) return undefined;
    const rows = this.#prepare("SELECT * FROM versions WHERE id = ?").all(id) as Row[];
    return {
      id,
      created_at: String(p.created_at),
      seq: Number(p.seq),
      owners: this.getOwners(id),
      owner_log: this.getOwnerLog(id),
      versions: rows.map((r) => ({ version: toVersion(r), publish_seq: Number(r.publish_seq) }))
        .sort((a, b) => semver.compare(a.version.version, b.version.version)),
    };
  }

  importPackage(record: PackageRecord): "imported" | "unchanged" {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const existing = this.exportPackage(record.id);
      if (existing) {
        if (!samePackage(existing, record)) throw differentPackage(record, existing);
        this.#db.exec("COMMIT");
        return "unchanged";
      }
      this.#prepare("INSERT INTO packages (id, created_at, seq) VALUES (?, ?, ?)").run(
        record.id,
        record.created_at,
        record.seq,
      );
      for (const o of record.owners) {
        this.#prepare("INSERT INTO owners (id, keyid, public_key) VALUES (?, ?, ?)").run(
          record.id,
          o.keyid,
          o.public_key,
        );
      }
      for (const [i, envelope] of record.owner_log.entries()) {
        this.#prepare("INSERT INTO owner_log (id, idx, envelope) VALUES (?, ?, ?)").run(
          record.id,
          i + 1,
          JSON.stringify(envelope),
        );
      }
      for (const { version, publish_seq } of record.versions) this.#insertVersionRow(version, publish_seq);
      this.#reindex(record.id);
      this.#db.exec("COMMIT");
      return "imported";
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The search row of a package lives at the package's rowid: found by it, not by a scan */
  #reindex(id: string): void {
    const latest = this.#latest(id);
    const row = this.#prepare("SELECT rowid FROM packages WHERE id = ?").get(id) as Row | undefined;
    if (!row) return;
    this.#prepare("DELETE FROM search WHERE rowid = ?").run(Number(row.rowid));
    if (!latest) return;
    this.#prepare(packageIndexInsertAt("search")).run(Number(row.rowid), ...packageIndexValues(latest));
  }

  /** Build the search index again when it is older than {@link SEARCH_INDEX_VERSION} */
  migrateSearchIndex(): void {
    const version = Number((this.#prepare("PRAGMA user_version").get() as Row).user_version);
    if (version >= SEARCH_INDEX_VERSION) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#db.exec(`DROP TABLE IF EXISTS search; ${packageIndexSchema("search")}`);
      for (const r of this.#prepare("SELECT id FROM packages").all() as Row[]) this.#reindex(String(r.id));
      this.#db.exec(`PRAGMA user_version = ${SEARCH_INDEX_VERSION}`);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  setYanked(id: string, version: string, yanked: boolean): boolean {
    // One transaction: a yank recorded without its seq bump would leave kept documents stale
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = this.#prepare("UPDATE versions SET yanked = ? WHERE id = ? AND version = ?").run(
        yanked ? 1 : 0,
        id,
        version,
      );
      const changed = Number(result.changes) > 0;
      if (changed) {
        this.#bump(id);
        this.#reindex(id);
      }
      this.#db.exec("COMMIT");
      return changed;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #bump(id: string): void {
    this.#prepare("UPDATE packages SET seq = seq + 1 WHERE id = ?").run(id);
  }

  packageSeq(id: string): number {
    return Number((this.#prepare("SELECT seq FROM packages WHERE id = ?").get(id) as Row | undefined)?.seq ?? 0);
  }

  maxPublishSeq(id: string): number {
    return Number((this.#prepare("SELECT max(publish_seq) AS m FROM versions WHERE id = ?").get(id) as Row).m ?? 0);
  }

  getOwners(id: string): OwnerKey[] {
    return (this.#prepare("SELECT keyid, public_key FROM owners WHERE id = ? ORDER BY keyid").all(id) as Row[]).map((
      r,
    ) => ({
      keyid: String(r.keyid),
      public_key: String(r.public_key),
    }));
  }

  getOwnerLog(id: string): Envelope[] {
    return (this.#prepare("SELECT envelope FROM owner_log WHERE id = ? ORDER BY idx").all(id) as Row[]).map((r) =>
      JSON.parse(String(r.envelope)) as Envelope
    );
  }

  changeOwners(id: string, change: OwnerChange): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const log = this.getOwnerLog(id);
      if (change.seq !== log.length + 1) {
        throw new ConflictError(`Cannot change owners of "${id}": seq ${change.seq}, expected ${log.length + 1}`);
      }
      if (change.action === "add") {
        this.#prepare("INSERT OR IGNORE INTO owners (id, keyid, public_key) VALUES (?, ?, ?)").run(
          id,
          change.keyid,
          change.publicKey,
        );
      } else {
        const owners = this.getOwners(id);
        if (owners.length === 1 && owners[0]!.keyid === change.keyid) {
          throw new ConflictError(`Cannot remove the last owner of "${id}": add another owner first`);
        }
        this.#prepare("DELETE FROM owners WHERE id = ? AND keyid = ?").run(id, change.keyid);
      }
      this.#prepare("INSERT INTO owner_log (id, idx, envelope) VALUES (?, ?, ?)").run(
        id,
        change.seq,
        JSON.stringify(change.envelope),
      );
      this.#bump(id);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  isBlobReferenced(sha256: string): boolean {
    return this.#prepare("SELECT 1 FROM versions WHERE sha256 = ? LIMIT 1").get(sha256) !== undefined;
  }

  listBlobDigests(): string[] {
    return (this.#prepare("SELECT DISTINCT sha256 FROM versions").all() as Row[]).map((r) => String(r.sha256));
  }

  close(): void {
    this.#db.close();
  }
}
