/**
 * What both metadata stores (SQLite and PostgreSQL) share above their SQL: a versions row as a
 * version, a package of its versions and the version it is shown as, a search page's hits, and
 * the import refusal.
 * @module
 */
import * as semver from "semver";
import { ConflictError, type PackageInfo, type PackageVersion, type SearchHit } from "../../core/mod.ts";
import type { PackageRecord } from "./storage.ts";

/** The refusal when a migration's target holds another package under the same id */
export function differentPackage(wanted: PackageRecord, found: PackageRecord): ConflictError {
  return new ConflictError(
    `Cannot import "${wanted.id}": the target holds a different package of that id (seq ${found.seq} with ` +
      `${found.versions.length} versions; the source has seq ${wanted.seq} with ${wanted.versions.length})`,
  );
}

/** The version a package is shown as: the highest not yanked, else the highest (`versions` sorted) */
export function latestOf(versions: PackageVersion[]): PackageVersion | undefined {
  const live = versions.filter((v) => !v.yanked);
  return (live.length ? live : versions).at(-1);
}

/** A package's versions rows as versions, in semver order */
export function versionsOf(rows: Record<string, unknown>[]): PackageVersion[] {
  return rows.map((r) => toVersion(r)).sort((a, b) => semver.compare(a.version, b.version));
}

/** Package `id` with its `versions` (semver order), named as its shown version; undefined without any */
export function packageOf(id: string, versions: PackageVersion[]): PackageInfo | undefined {
  const latest = latestOf(versions);
  return latest && { id, name: latest.name, description: latest.description, versions };
}

/** The hits of a page of `ids`, in order, each with its shown version among `versions` (any order) */
export function searchHits(ids: string[], versions: PackageVersion[]): SearchHit[] {
  const byId = Map.groupBy(versions, (v) => v.id);
  return ids.flatMap((id) => {
    const v = latestOf((byId.get(id) ?? []).sort((a, b) => semver.compare(a.version, b.version)));
    return v
      ? [{ id, name: v.name, version: v.version, description: v.description, tags: v.tags, source: "central" }]
      : [];
  });
}

/** A versions row (SQLite or PostgreSQL: the same columns) as a version */
export function toVersion(r: Record<string, unknown>): PackageVersion {
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
    ...(r.signature ? { signature: JSON.parse(String(r.signature)) } : {}),
    ...(r.publisher_key ? { publisher_key: String(r.publisher_key) } : {}),
  };
}
