/**
 * The local caches as a registry: package documents from the metadata cache (central's signed
 * documents, verified again by the caller like any central answer) and bytes from the blob
 * cache. It never touches the network: `--offline` uses it alone, `--prefer-offline` first,
 * and the hybrid registry after central, so a command with central down still finds what an
 * earlier command fetched.
 * @module
 */
import {
  type AbortOptions,
  NotFoundError,
  type PackageInfo,
  type PackageVersion,
  type Registry,
  type SearchHit,
  type SearchQuery,
  type TarballStream,
} from "../../core/mod.ts";
import * as semver from "semver";
import type { MetadataCache, PackageCache } from "../../store/mod.ts";

/** The cache registry */
export function createCacheRegistry(components: { metadata: MetadataCache; cache: PackageCache }): Registry {
  const { metadata, cache } = components;
  const latestOf = (info: PackageInfo): PackageVersion | undefined =>
    info.versions.filter((v) => !v.yanked).sort((a, b) => semver.rcompare(a.version, b.version))[0];
  return {
    name: "cache",
    async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
      const words = query.text.toLowerCase().split(/\s+/).filter(Boolean);
      const hits: SearchHit[] = [];
      for (const id of (await metadata.ids()).sort()) {
        options.signal?.throwIfAborted();
        const info = await metadata.get(id);
        const latest = info && latestOf(info);
        if (!info || !latest) continue;
        const text = [id, info.name, info.description, ...latest.tags, ...latest.keywords].join(" ").toLowerCase();
        if (!words.every((w) => text.includes(w))) continue;
        hits.push({
          id,
          name: info.name,
          version: latest.version,
          description: info.description,
          tags: latest.tags,
          source: "cache",
        });
        if (hits.length >= (query.limit ?? 20)) break;
      }
      // "Nothing cached" lets the hybrid registry ask the next backend
      if (hits.length === 0) throw new NotFoundError(`No package in the metadata cache matches "${query.text}"`);
      // An exact id first, as central ranks it
      return hits.sort((a, b) => Number(b.id === query.text) - Number(a.id === query.text));
    },
    async info(id: string): Promise<PackageInfo> {
      const info = await metadata.get(id);
      if (!info) {
        throw new NotFoundError(
          `"${id}" is not in the metadata cache (${metadata.dir}): an online command that installs or shows it ` +
            "fills the cache",
        );
      }
      // Central's document: the caller checks the registry's signature as for a live answer
      return { ...info, source: "cache" };
    },
    async open(version: PackageVersion, options: AbortOptions = {}): Promise<TarballStream> {
      const path = await cache.get(version.sha256, options);
      if (!path) {
        throw new NotFoundError(
          `The bytes of "${version.id}@${version.version}" (sha256 ${version.sha256}) are not in the cache (${cache.dir})`,
        );
      }
      const file = await Deno.open(path, { read: true });
      return { body: file.readable, source: "cache" };
    },
  };
}
