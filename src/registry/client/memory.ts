/**
 * Registries for tests and embedding: an in-memory registry that holds what it is given, and a
 * flaky twin that injects failures into another registry, so fallback, the circuit breaker and
 * error mapping can be tested fast and without a network.
 * @module
 */
import {
  type AbortOptions,
  NotFoundError,
  type OpenOptions,
  type PackageInfo,
  type PackageVersion,
  type Registry,
  type SearchHit,
  type SearchQuery,
  type TarballStream,
  UnavailableError,
} from "../../core/mod.ts";

/** An in-memory registry */
export interface MemoryRegistry extends Registry {
  /** Add a version with its tarball */
  add(version: PackageVersion, tarball: Uint8Array): void;
}

/** Create an empty in-memory registry named `name` */
export function createMemoryRegistry(name = "memory"): MemoryRegistry {
  const packages = new Map<string, PackageVersion[]>();
  const blobs = new Map<string, Uint8Array>();
  const aborted = (o: AbortOptions) => o.signal?.throwIfAborted();
  return {
    name,
    add(version, tarball) {
      const list = (packages.get(version.id) ?? []).filter((v) => v.version !== version.version);
      packages.set(version.id, [...list, version]);
      blobs.set(version.sha256, tarball);
    },
    // deno-lint-ignore require-await
    async search(query: SearchQuery, o: AbortOptions = {}): Promise<SearchHit[]> {
      aborted(o);
      const text = query.text.toLowerCase();
      const hits: SearchHit[] = [];
      for (const [id, versions] of packages) {
        const latest = versions.filter((v) => !v.yanked).at(-1) ?? versions.at(-1)!;
        const haystack = [id, latest.name, latest.description, ...latest.tags].join(" ").toLowerCase();
        if (!text.split(/\s+/).every((w) => haystack.includes(w))) continue;
        hits.push({
          id,
          name: latest.name,
          version: latest.version,
          description: latest.description,
          tags: latest.tags,
          source: name,
        });
      }
      // The exact id first, like the central registry
      hits.sort((a, b) => Number(b.id === query.text) - Number(a.id === query.text) || a.id.localeCompare(b.id));
      const offset = query.offset ?? 0;
      return hits.slice(offset, offset + (query.limit ?? 20));
    },
    // deno-lint-ignore require-await
    async info(id: string, o: AbortOptions = {}): Promise<PackageInfo> {
      aborted(o);
      const versions = packages.get(id);
      if (!versions) throw new NotFoundError(`Package "${id}" not found in ${name}`);
      const latest = versions.at(-1)!;
      return { id, name: latest.name, description: latest.description, versions: [...versions] };
    },
    // deno-lint-ignore require-await
    async open(version: PackageVersion, o: OpenOptions = {}): Promise<TarballStream> {
      aborted(o);
      const bytes = blobs.get(version.sha256);
      if (!bytes || o.exclude?.has(name)) {
        throw new NotFoundError(`${name} has no bytes for "${version.id}@${version.version}"`);
      }
      return { body: ReadableStream.from([bytes.slice()]), source: name };
    },
  };
}

/** Options of {@link createFlakyRegistry} */
export interface FlakyRegistryInit {
  /** Calls that fail before the registry recovers. @default Infinity */
  failures?: number;
  /** The error each failing call throws. @default an UnavailableError */
  error?: () => Error;
}

/** A registry that fails its first `failures` calls, then behaves like `inner` */
export function createFlakyRegistry(inner: Registry, init: FlakyRegistryInit = {}): Registry & { calls(): number } {
  let calls = 0;
  const fail = <T>(call: () => Promise<T>): Promise<T> => {
    calls++;
    if (calls <= (init.failures ?? Infinity)) {
      return Promise.reject(init.error?.() ?? new UnavailableError(`${inner.name} is flaky`));
    }
    return call();
  };
  return {
    name: inner.name,
    calls: () => calls,
    search: (q, o) => fail(() => inner.search(q, o)),
    info: (id, o) => fail(() => inner.info(id, o)),
    open: (v, o) => fail(() => inner.open(v, o)),
  };
}
