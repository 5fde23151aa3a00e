/**
 * The registry's metadata in PostgreSQL (npm `postgres`), for several instances sharing one
 * database: the same tables as the SQLite store, a publish in one transaction with the package
 * row locked and a unique (id, version), and full-text search on a tsvector with a GIN index,
 * ranked as the SQLite index ranks (the exact id first, then id over name over tags and keywords
 * over description, prefix terms all required, tokens split as FTS5 splits them).
 * @module
 */
import postgres from "postgres";
import * as semver from "semver";
import {
  ConflictError,
  type Envelope,
  type OwnerKey,
  type PackageInfo,
  type PackageVersion,
  queryWords,
  SEARCH_WINDOW,
  type SearchHit,
  TrustError,
} from "../../core/mod.ts";
import { differentPackage, latestOf, packageOf, searchHits, toVersion, versionsOf } from "./rows.ts";
import { registryTables } from "./schema.ts";
import {
  type MetadataStore,
  type OwnerChange,
  type PackageDocumentState,
  type PackageRecord,
  type PublishAuth,
  samePackage,
  type TokenRow,
} from "./storage.ts";

const SCHEMA = `
${registryTables("postgres")}
CREATE TABLE IF NOT EXISTS search (
  id TEXT PRIMARY KEY REFERENCES packages(id),
  document TSVECTOR NOT NULL
);
CREATE INDEX IF NOT EXISTS search_document ON search USING GIN (document);
`;

/** Words as FTS5's unicode61 tokenizer splits them: letters and digits, lower-cased */
function words(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** ts_rank weights for D, C, B, A: description 1, tags and keywords 3, name 5, id 10 (as the SQLite BM25) */
const RANK_WEIGHTS = "{0.1, 0.3, 0.5, 1.0}";

type Sql = postgres.Sql | postgres.TransactionSql;

/** Connect to `url`, create the tables when missing, and return the store */
export async function openPostgresMetadata(url: string): Promise<MetadataStore> {
  const sql = postgres(url, { max: 10, onnotice: () => {}, idle_timeout: 30 });
  // Two instances starting at once: one creates, the other waits on the lock
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(7140937)`;
    await tx.unsafe(SCHEMA);
  });
  return new PostgresMetadata(sql);
}

class PostgresMetadata implements MetadataStore {
  #sql: postgres.Sql;
  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async #versions(id: string, db: Sql = this.#sql): Promise<PackageVersion[]> {
    return versionsOf(await db`SELECT * FROM versions WHERE id = ${id}`);
  }

  async #latest(id: string, db: Sql = this.#sql): Promise<PackageVersion | undefined> {
    return latestOf(await this.#versions(id, db));
  }

  async search(text: string, limit: number, offset: number): Promise<{ total: number; hits: SearchHit[] }> {
    const terms = queryWords(text);
    let ids: string[];
    let total: number;
    if (terms.length === 0) {
      total = Number((await this.#sql`SELECT count(*) AS n FROM packages`)[0]!.n);
      ids = (await this.#sql`SELECT id FROM packages ORDER BY id LIMIT ${limit} OFFSET ${offset}`).map((r) =>
        String(r.id)
      );
    } else {
      // Terms hold only letters and digits: no tsquery syntax can come through. As in the SQLite
      // index: every word required, the last a prefix, ranked and counted within SEARCH_WINDOW
      const query = terms.map((t, i) => i === terms.length - 1 ? `${t}:*` : t).join(" & ");
      const wanted = text.trim().toLowerCase();
      // One pass over the matches ranks and counts them (count() OVER the window, before the
      // LIMIT); the exact-id lookup goes alongside on another connection
      const [exactRows, rankedRows] = await Promise.all([
        this.#sql`SELECT id FROM packages WHERE id = ${wanted}`,
        this.#sql`
        SELECT id, count(*) OVER () AS n FROM (
          SELECT id, ts_rank(${RANK_WEIGHTS}::float4[], document, to_tsquery('simple', ${query})) AS score
          FROM search WHERE document @@ to_tsquery('simple', ${query}) LIMIT ${SEARCH_WINDOW}) w
        ORDER BY score DESC, id LIMIT ${offset + limit + 1}`,
      ]);
      const exact = exactRows.length ? wanted : undefined;
      total = Number(rankedRows[0]?.n ?? 0);
      const ranked = rankedRows.map((r) => String(r.id)).filter((id) => id !== exact);
      ids = (exact ? [exact, ...ranked] : ranked).slice(offset, offset + limit);
    }
    return { total, hits: await this.#hits(ids) };
  }

  /** The search hits of `ids`, in order, with each package's shown version: one query for the page */
  async #hits(ids: string[]): Promise<SearchHit[]> {
    if (ids.length === 0) return [];
    const rows = await this.#sql`SELECT * FROM versions WHERE id = ANY(${ids})`;
    return searchHits(ids, rows.map((r) => toVersion(r)));
  }

  async getPackage(id: string): Promise<PackageInfo | undefined> {
    return packageOf(id, await this.#versions(id));
  }

  async getPackageDocument(id: string): Promise<PackageDocumentState | undefined> {
    // One statement: the four reads of a metadata GET were two round trips (1.1 ms p95 warm)
    const [row] = await this.#sql`
      SELECT p.seq,
        (SELECT json_agg(v) FROM versions v WHERE v.id = p.id) AS versions,
        (SELECT json_agg(json_build_object('keyid', o.keyid, 'public_key', o.public_key) ORDER BY o.keyid)
          FROM owners o WHERE o.id = p.id) AS owners,
        (SELECT json_agg(l.envelope ORDER BY l.idx) FROM owner_log l WHERE l.id = p.id) AS owner_log
      FROM packages p WHERE p.id = ${id}`;
    const info = row && packageOf(id, versionsOf((row.versions ?? []) as Record<string, unknown>[]));
    if (!info) return undefined;
    return {
      info,
      owners: ((row.owners ?? []) as Record<string, unknown>[]).map((o) => ({
        keyid: String(o.keyid),
        public_key: String(o.public_key),
      })),
      ownerLog: ((row.owner_log ?? []) as unknown[]).map((e) => JSON.parse(String(e)) as Envelope),
      seq: Number(row.seq),
    };
  }

  async getVersion(id: string, version: string, db: Sql = this.#sql): Promise<PackageVersion | undefined> {
    const [r] = await db`SELECT * FROM versions WHERE id = ${id} AND version = ${version}`;
    return r ? toVersion(r) : undefined;
  }

  async insertVersion(v: PackageVersion, publish: PublishAuth): Promise<void> {
    try {
      await this.#sql.begin(async (tx) => {
        const created = await tx`INSERT INTO packages (id, created_at, seq) VALUES (${v.id}, ${v.published_at}, 0)
          ON CONFLICT (id) DO NOTHING RETURNING id`;
        // One publish of a package at a time, whichever instance runs it
        await tx`SELECT 1 FROM packages WHERE id = ${v.id} FOR UPDATE`;
        if (await this.getVersion(v.id, v.version, tx)) {
          throw new ConflictError(`Cannot publish "${v.id}@${v.version}": that version already exists`);
        }
        if (created.length > 0) {
          // The first publish binds the signing key as the package's owner
          await tx`INSERT INTO owners (id, keyid, public_key) VALUES (${v.id}, ${publish.keyid}, ${publish.publicKey})`;
        } else {
          const owners = await this.getOwners(v.id, tx);
          if (!owners.some((o) => o.keyid === publish.keyid)) {
            throw new TrustError(
              `Cannot publish "${v.id}@${v.version}": key ${publish.keyid} is not an owner of "${v.id}" (owners: ${
                owners.map((o) => o.keyid).join(", ")
              }); an owner can add it with \`ggen owner add ${v.id} <public key>\``,
            );
          }
        }
        const maxSeq = await this.maxPublishSeq(v.id, tx);
        if (publish.seq <= maxSeq) {
          throw new TrustError(
            `Cannot publish "${v.id}@${v.version}": signed seq ${publish.seq} is not above ${maxSeq}`,
          );
        }
        await this.#insertVersionRow(v, publish.seq, tx);
        await this.#bump(v.id, tx);
        await this.#reindex(v.id, tx);
      });
    } catch (err) {
      // Two instances inserting one version: the unique key decides, the loser hears 409
      if ((err as { code?: string }).code === "23505") {
        throw new ConflictError(`Cannot publish "${v.id}@${v.version}": that version already exists`, { cause: err });
      }
      throw err;
    }
  }

  async #insertVersionRow(v: PackageVersion, publishSeq: number, db: Sql): Promise<void> {
    await db`INSERT INTO versions (id, version, name, description, tags, keywords, sha256, size, dependencies,
        yanked, published_at, signature, publisher_key, publish_seq)
      VALUES (${v.id}, ${v.version}, ${v.name}, ${v.description}, ${JSON.stringify(v.tags)},
        ${JSON.stringify(v.keywords)}, ${v.sha256}, ${v.size}, ${JSON.stringify(v.dependencies)}, ${v.yanked ? 1 : 0},
        ${v.published_at}, ${v.signature ? JSON.stringify(v.signature) : ""}, ${v.publisher_key ?? ""}, ${publishSeq})`;
  }

  async listPackageIds(after: string, limit: number): Promise<string[]> {
    return (await this.#sql`SELECT id FROM packages WHERE id > ${after} ORDER BY id LIMIT ${limit}`).map((r) =>
      String(r.id)
    );
  }

  async exportPackage(id: string, db: Sql = this.#sql): Promise<PackageRecord | undefined> {
    const [p] = await db`SELECT created_at, seq FROM packages WHERE id = ${id}`;
    if (!p) return undefined;
    const rows = await db`SELECT * FROM versions WHERE id = ${id}`;
    return {
      id,
      created_at: String(p.created_at),
      seq: Number(p.seq),
      owners: await this.getOwners(id, db),
      owner_log: await this.getOwnerLog(id, db),
      versions: rows.map((r) => ({ version: toVersion(r), publish_seq: Number(r.publish_seq) }))
        .sort((a, b) => semver.compare(a.version.version, b.version.version)),
    };
  }

  async importPackage(record: PackageRecord): Promise<"imported" | "unchanged"> {
    return await this.#sql.begin(async (tx) => {
      // Two migrations of one package at once: one waits for the other
      await tx`SELECT pg_advisory_xact_lock(hashtext(${record.id}))`;
      const existing = await this.exportPackage(record.id, tx);
      if (existing) {
        if (!samePackage(existing, record)) throw differentPackage(record, existing);
        return "unchanged" as const;
      }
      await tx`INSERT INTO packages (id, created_at, seq) VALUES (${record.id}, ${record.created_at}, ${record.seq})`;
      for (const o of record.owners) {
        await tx`INSERT INTO owners (id, keyid, public_key) VALUES (${record.id}, ${o.keyid}, ${o.public_key})`;
      }
      for (const [i, envelope] of record.owner_log.entries()) {
        await tx`INSERT INTO owner_log (id, idx, envelope) VALUES (${record.id}, ${i + 1}, ${
          JSON.stringify(envelope)
        })`;
      }
      for (const { version, publish_seq } of record.versions) await this.#insertVersionRow(version, publish_seq, tx);
      await this.#reindex(record.id, tx);
      return "imported" as const;
    });
  }

  async listTokens(): Promise<TokenRow[]> {
    return (await this.#sql`SELECT * FROM tokens ORDER BY hash`).map(tokenRow);
  }

  async importToken(t: TokenRow): Promise<boolean> {
    return (await this.#sql`INSERT INTO tokens (hash, name, scopes, id_prefix, created_at, expires_at, revoked)
      VALUES (${t.hash}, ${t.name}, ${t.scopes}, ${t.id_prefix}, ${t.created_at}, ${t.expires_at}, ${t.revoked})
      ON CONFLICT (hash) DO NOTHING`).count > 0;
  }

  async #reindex(id: string, db: Sql): Promise<void> {
    const latest = await this.#latest(id, db);
    if (!latest) {
      await db`DELETE FROM search WHERE id = ${id}`;
      return;
    }
    const part = (s: string) => words(s).join(" ");
    await db`INSERT INTO search (id, document) VALUES (${id},
        setweight(to_tsvector('simple', ${part(id)}), 'A') ||
        setweight(to_tsvector('simple', ${part(latest.name)}), 'B') ||
        setweight(to_tsvector('simple', ${part([...latest.tags, ...latest.keywords].join(" "))}), 'C') ||
        setweight(to_tsvector('simple', ${part(latest.description)}), 'D'))
      ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document`;
  }

  async #bump(id: string, db: Sql): Promise<void> {
    await db`UPDATE packages SET seq = seq + 1 WHERE id = ${id}`;
  }

  async setYanked(id: string, version: string, yanked: boolean): Promise<boolean> {
    return await this.#sql.begin(async (tx) => {
      const changed = await tx`UPDATE versions SET yanked = ${
        yanked ? 1 : 0
      } WHERE id = ${id} AND version = ${version}`;
      if (changed.count === 0) return false;
      await this.#bump(id, tx);
      await this.#reindex(id, tx);
      return true;
    });
  }

  async packageSeq(id: string): Promise<number> {
    return Number((await this.#sql`SELECT seq FROM packages WHERE id = ${id}`)[0]?.seq ?? 0);
  }

  async maxPublishSeq(id: string, db: Sql = this.#sql): Promise<number> {
    return Number((await db`SELECT max(publish_seq) AS m FROM versions WHERE id = ${id}`)[0]?.m ?? 0);
  }

  async getOwners(id: string, db: Sql = this.#sql): Promise<OwnerKey[]> {
    return (await db`SELECT keyid, public_key FROM owners WHERE id = ${id} ORDER BY keyid`).map((r) => ({
      keyid: String(r.keyid),
      public_key: String(r.public_key),
    }));
  }

  async getOwnerLog(id: string, db: Sql = this.#sql): Promise<Envelope[]> {
    return (await db`SELECT envelope FROM owner_log WHERE id = ${id} ORDER BY idx`).map((r) =>
      JSON.parse(String(r.envelope)) as Envelope
    );
  }

  async changeOwners(id: string, change: OwnerChange): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`SELECT 1 FROM packages WHERE id = ${id} FOR UPDATE`;
      const log = await this.getOwnerLog(id, tx);
      if (change.seq !== log.length + 1) {
        throw new ConflictError(`Cannot change owners of "${id}": seq ${change.seq}, expected ${log.length + 1}`);
      }
      if (change.action === "add") {
        await tx`INSERT INTO owners (id, keyid, public_key) VALUES (${id}, ${change.keyid}, ${change.publicKey})
          ON CONFLICT DO NOTHING`;
      } else {
        const owners = await this.getOwners(id, tx);
        if (owners.length === 1 && owners[0]!.keyid === change.keyid) {
          throw new ConflictError(`Cannot remove the last owner of "${id}": add another owner first`);
        }
        await tx`DELETE FROM owners WHERE id = ${id} AND keyid = ${change.keyid}`;
      }
      await tx`INSERT INTO owner_log (id, idx, envelope) VALUES (${id}, ${change.seq}, ${
        JSON.stringify(change.envelope)
      })`;
      await this.#bump(id, tx);
    });
  }

  async isBlobReferenced(sha256: string): Promise<boolean> {
    return (await this.#sql`SELECT 1 FROM versions WHERE sha256 = ${sha256} LIMIT 1`).length > 0;
  }

  async listBlobDigests(): Promise<string[]> {
    return (await this.#sql`SELECT DISTINCT sha256 FROM versions`).map((r) => String(r.sha256));
  }

  async insertToken(t: TokenRow): Promise<void> {
    await this.#sql`INSERT INTO tokens (hash, name, scopes, id_prefix, created_at, expires_at, revoked)
      VALUES (${t.hash}, ${t.name}, ${t.scopes}, ${t.id_prefix}, ${t.created_at}, ${t.expires_at}, ${t.revoked})`;
  }

  async findToken(hash: string): Promise<TokenRow | undefined> {
    const [r] = await this.#sql`SELECT * FROM tokens WHERE hash = ${hash}`;
    return r ? tokenRow(r) : undefined;
  }

  async findTokensByHashPrefix(prefix: string): Promise<TokenRow[]> {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    return (await this.#sql`SELECT * FROM tokens WHERE left(hash, ${prefix.length}) = ${prefix} LIMIT 2`).map(
      tokenRow,
    );
  }

  async revokeToken(hash: string): Promise<boolean> {
    return (await this.#sql`UPDATE tokens SET revoked = 1 WHERE hash = ${hash}`).count > 0;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

function tokenRow(r: Record<string, unknown>): TokenRow {
  return {
    hash: String(r.hash),
    name: String(r.name),
    scopes: String(r.scopes),
    id_prefix: String(r.id_prefix),
    created_at: String(r.created_at),
    expires_at: String(r.expires_at),
    revoked: Number(r.revoked),
  };
}
