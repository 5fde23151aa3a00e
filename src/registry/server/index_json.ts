/**
 * `GET /index.json`: the registry in the format of ggen's own marketplace index (version,
 * updated_at, package_count, categories, packages with name, version, description, tags,
 * keywords, dependencies, path and download_url), so tools that read ggen's index read this
 * registry too. Each entry also carries the id, sha256 and size, and `releases`: every version as
 * the API serves it (publisher signature and key included) with its download URL, so the index
 * alone is a read-only central source a client verifies like peers' documents (a static copy on
 * any web server: `ggen registry export`). Built from the store page by page and kept for a
 * minute: at 100,000 packages a build reads every package.
 * @module
 */
import { apiPaths, type IndexEntry, type IndexJson, type PackageInfo, type PackageVersion } from "../../core/mod.ts";
import { latestOf } from "./rows.ts";
import type { MetadataStore } from "./storage.ts";

/** Where a version's tarball is, given the registry's public URL ("" for relative) */
export type DownloadUrlOf = (v: PackageVersion, baseUrl: string) => string;

/** The registry's own tarball route */
export const apiDownloadUrl: DownloadUrlOf = (v, baseUrl) => baseUrl + apiPaths.tarball(v.id, v.version);

/** How long a built index is served again */
const INDEX_TTL_MS = 60_000;
/** Packages read per page while building */
const PAGE = 500;

function entryOf(info: PackageInfo, baseUrl: string, downloadUrl: DownloadUrlOf): IndexEntry | undefined {
  const shown = latestOf(info.versions);
  if (!shown) return undefined;
  return {
    name: info.name,
    id: info.id,
    version: shown.version,
    versions: info.versions.map((v) => v.version),
    description: shown.description,
    tags: shown.tags,
    keywords: shown.keywords,
    dependencies: Object.entries(shown.dependencies).map(([id, range]) => `${id}@${range}`),
    path: apiPaths.package(info.id),
    download_url: downloadUrl(shown, baseUrl),
    sha256: shown.sha256,
    size: shown.size,
    releases: info.versions.map((v) => ({ ...v, download_url: downloadUrl(v, baseUrl) })),
  };
}

/** Build the whole index from the store */
export async function buildIndexJson(
  store: MetadataStore,
  baseUrl: string,
  downloadUrl: DownloadUrlOf = apiDownloadUrl,
): Promise<IndexJson> {
  const packages: IndexEntry[] = [];
  let after = "";
  for (let page = 0; page < 10_000; page++) {
    const ids = await store.listPackageIds(after, PAGE);
    if (ids.length === 0) break;
    for (const id of ids) {
      const info = await store.getPackage(id);
      const entry = info && entryOf(info, baseUrl, downloadUrl);
      if (entry) packages.push(entry);
    }
    after = ids.at(-1)!;
  }
  return {
    version: "1",
    updated_at: new Date().toISOString(),
    package_count: packages.length,
    categories: [],
    packages,
  };
}

/** A builder of the index that keeps the last one for {@link INDEX_TTL_MS} */
export function createIndexJson(store: MetadataStore): (baseUrl: string) => Promise<IndexJson> {
  let kept: { at: number; baseUrl: string; index: Promise<IndexJson> } | undefined;
  return (baseUrl) => {
    if (!kept || kept.baseUrl !== baseUrl || Date.now() - kept.at > INDEX_TTL_MS) {
      const index = buildIndexJson(store, baseUrl);
      kept = { at: Date.now(), baseUrl, index };
      // A failed build is not kept
      index.catch(() => kept = undefined);
    }
    return kept.index;
  };
}
