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

/**
 * Cached documents a search reads at once: one at a time (a stat and a read each), 100 took
 * 22-27 ms in bench/registry_bench.ts; the batch bounds the files open together
 */
const READ_BATCH = 32;

/** The cache registry */
export function createCacheRegistry(components: { metadata: MetadataCache; cache: PackageCache }): Registry {
  const { metadata, cache } = components;
  const latestOf = (info: PackageInfo): PackageVersion | undefined =>
    info.versions.filter((v) => !v.yanked).sort((a, b) => semver.rcompare(a.version, b.version))[0];
  return {
    name: "cache",
    async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
      const words = query.text.toLowerCase().split(/\s+/).filter(Boolean);
      const limit = query.limit ?? 20;
      const hits: SearchHit[] = [];
      const ids = (await metadata.ids()).sort();
      for (let at = 0; at < ids.length && hits.length < limit; at += READ_BATCH) {
        options.signal?.throwIfAborted();
        // A batch of documents read at once, matched in id order
        const batch = ids.slice(at, at + READ_BATCH);
        const infos = await Promise.all(batch.map((id) => metadata.get(id)));
        for (const [i, info] of infos.entries()) {
          const latest = info && latestOf(info);
          if (!info || !latest) continue;
          const id = batch[i]!;
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
          if (hits.length >= limit) break;
        }
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
