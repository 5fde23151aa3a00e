/**
 * The hybrid registry: an in-memory LRU for searches, then central, then P2P. Only
 * `NotFoundError` and `UnavailableError` move on to the next backend; anything else, the
 * caller's abort included, is thrown. Every choice and fallback is logged at debug level.
 * @module
 */
import {
  type AbortOptions,
  type Logger,
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

/** Options of {@link createHybridRegistry} */
export interface HybridRegistryInit {
  /** Entries kept in the search cache. @default 256 */
  cacheSize?: number;
  /** Lifetime of a cached search. @default 60 s */
  cacheTtlMs?: number;
  /** How long a backend that was unavailable is skipped. @default 30 s */
  offlineMs?: number;
  /**
   * Where the breaker's state outlives the process, so the next command does not pay the same
   * timeouts again (the CLI keeps it in `$GGEN_HOME/backend-health.json`)
   */
  health?: BackendHealthStore;
}

/** The circuit breaker's state: backend name → epoch milliseconds until which it is skipped */
export interface BackendHealthStore {
  /** The state saved by an earlier command (expired entries may be dropped) */
  load(): Record<string, number>;
  /** Remember the state for the next command (best effort) */
  save(offlineUntil: Record<string, number>): void;
}

/** A small LRU with expiry */
export class LruCache<V> {
  #map = new Map<string, { value: V; expires: number }>();
  #max: number;
  #ttl: number;
  /**
   * Create an empty cache.
   *
   * @param max entries kept
   * @param ttlMs lifetime of an entry
   */
  constructor(max: number, ttlMs: number) {
    this.#max = max;
    this.#ttl = ttlMs;
  }
  /** The value of a key, if present and fresh */
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    if (e.expires < Date.now()) return undefined;
    this.#map.set(key, e);
    return e.value;
  }
  /** Store a value under a key */
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, { value, expires: Date.now() + this.#ttl });
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }
}

function canFallBack(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof UnavailableError;
}

/** Try `backends` in order; see the module doc for which failures move on */
export function createHybridRegistry(
  components: { logger: Logger; backends: Registry[] },
  init: HybridRegistryInit = {},
): Registry & { readonly backends: Registry[] } {
  const log = components.logger.child("hybrid");
  const backends = components.backends;
  const searches = new LruCache<SearchHit[]>(init.cacheSize ?? 256, init.cacheTtlMs ?? 60_000);
  // Circuit breaker: an unavailable backend is skipped for a while instead of paying its timeouts again
  const offlineUntil = new Map<string, number>(Object.entries(init.health?.load() ?? {}));
  const offlineMs = init.offlineMs ?? 30_000;
  const persist = () => init.health?.save(Object.fromEntries(offlineUntil));
  // The breaker remembers a backend by its address too: another central URL starts healthy
  const keyOf = (b: Registry) => {
    const url = (b as Registry & { url?: unknown }).url;
    return typeof url === "string" ? `${b.name} ${url}` : b.name;
  };
  for (const [key, until] of offlineUntil) {
    const backend = backends.find((b) => keyOf(b) === key);
    if (until > Date.now() && backend && backend !== backends.at(-1)) {
      log.warn(
        `${backend.name} was unreachable moments ago: using the next backend until ${new Date(until).toISOString()}`,
      );
    }
  }

  async function first<T>(
    what: string,
    options: AbortOptions,
    attempt: (r: Registry) => Promise<T>,
    skip: (r: Registry) => boolean = () => false,
  ): Promise<T> {
    const failures: { backend: string; error: Error }[] = [];
    for (const [i, backend] of backends.entries()) {
      if (skip(backend)) continue;
      options.signal?.throwIfAborted();
      const isLast = i === backends.length - 1;
      if ((offlineUntil.get(keyOf(backend)) ?? 0) > Date.now() && !isLast) {
        log.debug(`${what}: skipping ${backend.name}, unavailable moments ago`);
        failures.push({ backend: backend.name, error: new UnavailableError(`${backend.name} is offline`) });
        continue;
      }
      try {
        log.debug(`${what}: trying ${backend.name}`);
        const result = await attempt(backend);
        log.debug(`${what}: answered by ${backend.name}`);
        if (offlineUntil.delete(keyOf(backend))) {
          log.info(`${backend.name} is back`);
          persist();
        }
        return result;
      } catch (err) {
        if (!canFallBack(err) || options.signal?.aborted) throw err;
        if (err instanceof UnavailableError && (offlineUntil.get(keyOf(backend)) ?? 0) <= Date.now()) {
          log.warn(`${backend.name} is unavailable (${(err as Error).message}); using the next backend`);
          offlineUntil.set(keyOf(backend), Date.now() + offlineMs);
          persist();
        }
        log.debug(`${what}: ${backend.name} failed (${(err as Error).message}); falling back`);
        failures.push({ backend: backend.name, error: err as Error });
      }
    }
    const tried = failures.map((f) => `${f.backend}: ${f.error.message}`).join("; ");
    // One error that keeps every backend's own error
    const cause = new AggregateError(failures.map((f) => f.error), `every backend failed to ${what}`);
    if (failures.length > 0 && failures.every((f) => f.error instanceof NotFoundError)) {
      throw new NotFoundError(
        `${failures.at(-1)!.error.message} (tried ${failures.map((f) => f.backend).join(", ")})`,
        { cause },
      );
    }
    throw new UnavailableError(`Cannot ${what}: every backend failed: ${tried || "none configured"}`, { cause });
  }

  return {
    name: "hybrid",
    backends,
    async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
      const key = `${query.text}\0${query.limit ?? 20}\0${query.offset ?? 0}`;
      const cached = searches.get(key);
      if (cached) {
        log.debug(`search "${query.text}": cache hit`);
        return cached.map((h) => ({ ...h, source: "cache" }));
      }
      const hits = await first(`search "${query.text}"`, options, (r) => r.search(query, options));
      searches.set(key, hits);
      return hits;
    },
    info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
      return first(`get "${id}"`, options, (r) => r.info(id, options));
    },
    open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
      return first(
        `fetch "${version.id}@${version.version}"`,
        options,
        (r) => r.open(version, options),
        (r) => r.name === "central" && options.exclude?.has("central") === true,
      );
    },
  };
}
