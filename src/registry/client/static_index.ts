/**
 * A read-only central source: a registry's `index.json` copied to any web server (`ggen registry
 * export`), or ggen's own marketplace index, named by a central URL whose path ends in `.json`.
 * The index is read once per process; search ranks it in memory with the registry's own
 * full-text definition (core/fts.ts), and package documents and tarballs come from the entries'
 * `releases`. No registry signs a static index: every version carries its publisher's signature,
 * which the installer checks against the key pinned for the package (trusted on first use, as for
 * packages from peers), and the store checks every byte against the sha256. An entry without
 * releases (ggen's own index) is found by search but cannot be installed.
 * @module
 */
import {
  type AbortOptions,
  ConfigError,
  ftsQuery,
  type IndexedPackage,
  type Logger,
  NotFoundError,
  type OpenOptions,
  type OwnerKey,
  packageIndexInsertAt,
  packageIndexSchema,
  packageIndexSearch,
  packageIndexValues,
  type PackageInfo,
  type PackageVersion,
  parseIndexJson,
  type RegistryKeyResponse,
  type SearchHit,
  type SearchQuery,
  type TarballStream,
  TrustError,
  ValidationError,
} from "../../core/mod.ts";
import type { CentralRegistry } from "./central.ts";
import { HttpSource, type HttpSourceInit, readJsonLimited } from "./http_source.ts";

/** Largest index read (about 1 KiB per version: some 100,000 packages) */
const MAX_INDEX_BYTES = 128 * 1024 * 1024;

/** Options of {@link createStaticIndexRegistry} */
export interface StaticIndexInit extends HttpSourceInit {
  /** Namespace of the ids of entries that have only a ggen `name`. @default DEFAULT_PACKAGE_NAMESPACE */
  namespace?: string;
}

/** True when a central URL names a static index (its path ends in `.json`) rather than a registry's API */
export function isStaticIndexUrl(url: string): boolean {
  try {
    return new URL(url).pathname.endsWith(".json");
  } catch {
    return false;
  }
}

/** Create the client of the static index at `init.url` */
export function createStaticIndexRegistry(components: { logger: Logger }, init: StaticIndexInit): CentralRegistry {
  return new StaticIndexRegistry(components, init);
}

interface LoadedIndex {
  packages: IndexedPackage[];
  byId: Map<string, IndexedPackage>;
  /** Ranked ids of a query, built on the first search */
  search?: (text: string, limit: number, offset: number) => string[];
}

class StaticIndexRegistry implements CentralRegistry {
  /** It plays central's part: hedging, health and the fallback treat it as central */
  readonly name = "central";
  readonly url: string;
  #http: HttpSource;
  #log: Logger;
  #namespace: string | undefined;
  #index: Promise<LoadedIndex> | undefined;

  constructor(components: { logger: Logger }, init: StaticIndexInit) {
    this.#log = components.logger.child("central");
    this.#http = new HttpSource(this.#log, init, "Static index");
    this.url = this.#http.url;
    this.#namespace = init.namespace;
  }

  #load(options: AbortOptions): Promise<LoadedIndex> {
    if (this.#index) return this.#index;
    const loading = (async () => {
      const res = await this.#http.request(this.url, options);
      const body = await this.#http.json(readJsonLimited(res, MAX_INDEX_BYTES, "index.json"), "index.json");
      const { packages, refused } = this.#http.check(() => parseIndexJson(body, this.#namespace ?? "io.ggen"), "index");
      if (refused.length > 0) {
        this.#log.warn(`${this.url}: left out ${refused.length} invalid entries (the first: ${refused[0]})`);
      }
      return { packages, byId: new Map(packages.map((p) => [p.id, p])) };
    })();
    this.#index = loading;
    // A failed read is tried again by the next call
    loading.catch(() => {
      this.#index = undefined;
    });
    return loading;
  }

  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
    const index = await this.#load(options);
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const match = ftsQuery(query.text);
    const ids = match === ""
      ? index.packages.map((p) => p.id).sort().slice(offset, offset + limit)
      : (index.search ??= await rankerOf(index.packages))(query.text, limit, offset);
    return ids.map((id) => index.byId.get(id)!).map((p) => ({
      id: p.id,
      name: p.name,
      version: p.version,
      description: p.description,
      tags: p.tags,
      source: "central",
    }));
  }

  async #entry(id: string, options: AbortOptions): Promise<IndexedPackage> {
    const entry = (await this.#load(options)).byId.get(id);
    if (!entry) throw new NotFoundError(`"${id}" is not in the index ${this.url}`);
    if (entry.releases.length === 0) {
      throw new TrustError(
        `"${id}" is listed by ${this.url} without signed releases (ggen's own index format), and ggen installs only ` +
          "packages signed by their publisher: import the packages into a registry (ggen registry import), then " +
          "serve it or publish a copy of it (ggen registry export)",
      );
    }
    return entry;
  }

  async info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
    const entry = await this.#entry(id, options);
    const versions = entry.releases.map(({ download_url: _url, ...v }) => v);
    return { id, name: entry.name, description: entry.description, versions, source: "static" };
  }

  async open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
    if (options.exclude?.has("central")) {
      throw new NotFoundError(
        `The static index ${this.url} already sent bad bytes for "${version.id}@${version.version}"`,
      );
    }
    const entry = await this.#entry(version.id, options);
    const release = entry.releases.find((r) => r.version === version.version && r.sha256 === version.sha256);
    if (!release) throw new NotFoundError(`The index ${this.url} lists no tarball of ${version.id}@${version.version}`);
    const url = new URL(release.download_url, this.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ValidationError(`Refusing the download URL of ${version.id}@${version.version}: not http(s)`);
    }
    const res = await this.#http.request(url.href, options);
    if (!res.body) throw new NotFoundError(`${url.href} sent no body`);
    return { body: res.body, source: "central" };
  }

  assertWritable(what: string): void {
    this.#readOnly(what);
  }

  #readOnly(what: string): never {
    throw new ConfigError(
      `Cannot ${what}: the central source ${this.url} is a static index (read-only). ` +
        "Use a ggen registry's URL for it: --registry URL, GGEN_REGISTRY or [registry] central_url",
    );
  }

  publish(): Promise<PackageVersion> {
    this.#readOnly("publish");
  }

  setYanked(): Promise<void> {
    this.#readOnly("yank");
  }

  changeOwners(): Promise<OwnerKey[]> {
    this.#readOnly("change owners");
  }

  owners(): Promise<{ owners: OwnerKey[]; owner_log: [] }> {
    this.#readOnly("list owners");
  }

  registryKey(): Promise<RegistryKeyResponse> {
    throw new NotFoundError(
      `The static index ${this.url} has no registry key: each version is signed by its publisher`,
    );
  }
}

/** An in-memory full-text index of the packages, ranked as the registry ranks */
async function rankerOf(packages: IndexedPackage[]): Promise<NonNullable<LoadedIndex["search"]>> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(":memory:");
  db.exec(packageIndexSchema("static_index"));
  const insert = db.prepare(packageIndexInsertAt("static_index"));
  db.exec("BEGIN");
  packages.forEach((p, i) => insert.run(i + 1, ...packageIndexValues(p)));
  db.exec("COMMIT");
  const query = db.prepare(packageIndexSearch("static_index"));
  return (text, limit, offset) =>
    (query.all(ftsQuery(text), text.trim().toLowerCase(), limit, offset) as { id: string }[]).map((r) => r.id);
}
