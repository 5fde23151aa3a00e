/**
 * `GET /index.json`: the registry in the format of ggen's own marketplace index (version,
 * updated_at, package_count, categories, packages with name, version, description, tags,
 * keywords, dependencies, path and download_url), so tools that read ggen's index read this
 * registry too. Each entry also carries the id, every version, sha256 and size. Built from the
 * store page by page and kept for a minute: at 100,000 packages a build reads every package.
 * @module
 */
import { apiPaths, type PackageInfo } from "../../core/mod.ts";
import { latestOf } from "./rows.ts";
import type { MetadataStore } from "./storage.ts";

/** One package of the index */
export interface IndexEntry {
  /** Human-readable name */
  name: string;
  /** Reverse-DNS package id (the key; ggen's index names packages by `name`) */
  id: string;
  /** The version shown: the highest not yanked */
  version: string;
  /** Every version, oldest first */
  versions: string[];
  /** One-line description */
  description: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** `id@range` of each dependency of the shown version, as ggen's array form */
  dependencies: string[];
  /** Where the package lives in the registry's API */
  path: string;
  /** The shown version's tarball */
  download_url: string;
  /** SHA-256 of that tarball, hex */
  sha256: string;
  /** Its size in bytes */
  size: number;
}

/** The whole index */
export interface IndexJson {
  /** Format version of this document */
  version: string;
  /** When it was built, ISO 8601 UTC */
  updated_at: string;
  /** How many packages it lists */
  package_count: number;
  /** Categories of the packages (ggen's index field; this registry keeps none yet) */
  categories: string[];
  /** Every package with a version, by id */
  packages: IndexEntry[];
}

/** How long a built index is served again */
const INDEX_TTL_MS = 60_000;
/** Packages read per page while building */
const PAGE = 500;

function entryOf(info: PackageInfo, baseUrl: string): IndexEntry | undefined {
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
    download_url: baseUrl + apiPaths.tarball(info.id, shown.version),
    sha256: shown.sha256,
    size: shown.size,
  };
}

/** A builder of the index that keeps the last one for {@link INDEX_TTL_MS} */
export function createIndexJson(store: MetadataStore): (baseUrl: string) => Promise<IndexJson> {
  let kept: { at: number; baseUrl: string; index: Promise<IndexJson> } | undefined;
  const build = async (baseUrl: string): Promise<IndexJson> => {
    const packages: IndexEntry[] = [];
    let after = "";
    for (let page = 0; page < 10_000; page++) {
      const ids = await store.listPackageIds(after, PAGE);
      if (ids.length === 0) break;
      for (const id of ids) {
        const info = await store.getPackage(id);
        const entry = info && entryOf(info, baseUrl);
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
  };
  return (baseUrl) => {
    if (!kept || kept.baseUrl !== baseUrl || Date.now() - kept.at > INDEX_TTL_MS) {
      const index = build(baseUrl);
      kept = { at: Date.now(), baseUrl, index };
      // A failed build is not kept
      index.catch(() => kept = undefined);
    }
    return kept.index;
  };
}
