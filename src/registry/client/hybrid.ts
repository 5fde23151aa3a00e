/**
 * The hybrid registry: an in-memory LRU for searches, then central, then P2P. Only
 * `NotFoundError` and `UnavailableError` move on to the next backend; anything else, the
 * caller's abort included, is thrown. Every choice and fallback is logged at debug level.
 *
 * Hedging: when a hedged backend (central) has not answered within the hedge delay, the next
 * backends are asked in parallel and the first answer wins; the loser is aborted. The delay
 * adapts to the backend's observed latency (four times its moving average, between 150 ms and
 * 2 s; 300 ms before anything is known), and the average outlives the process with the breaker.
 * A hedged backend that lost the race is skipped by the breaker like an unavailable one.
 * @module
 */
import {
  type AbortOptions,
  backendKey,
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
  /** Backends by name whose slowness starts the next ones in parallel; empty disables hedging. @default ["central"] */
  hedged?: string[];
  /** Fixed hedge delay instead of the adaptive one */
  hedgeMs?: number;
  /**
   * Where the breaker's state outlives the process, so the next command does not pay the same
   * timeouts again (the CLI keeps it in `$GGEN_HOME/backend-health.json`)
   */
  health?: BackendHealthStore;
  /** Told when a backend turns out unavailable and when a later backend answers (the daemon's dashboard shows them) */
  onEvent?: (e: HybridEvent) => void;
}

/** A fallback the hybrid registry made */
export interface HybridEvent {
  /** "unavailable": a backend failed and the next is used; "answered": a backend past the first answered */
  kind: "unavailable" | "answered";
  /** The backend concerned */
  backend: string;
  /** What happened, for people */
  message: string;
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

/** Latency entries share the breaker's store under this prefix */
const LATENCY = "latency ";

/** The hedge delay for a backend whose answers took `averageMs` on average */
export function hedgeDelay(averageMs: number | undefined): number {
  return averageMs === undefined ? 300 : Math.min(2000, Math.max(150, Math.round(4 * averageMs)));
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
  const saved = Object.entries(init.health?.load() ?? {});
  const offlineUntil = new Map<string, number>(
    saved.filter(([k, until]) => !k.startsWith(LATENCY) && until > Date.now()),
  );
  const latency = new Map<string, number>(
    saved.filter(([k]) => k.startsWith(LATENCY)).map(([k, v]) => [k.slice(LATENCY.length), v]),
  );
  const offlineMs = init.offlineMs ?? 30_000;
  const hedged = new Set(init.hedged ?? ["central"]);
  // One entry changed over what the store holds now: the store is shared (a command's two hybrids,
  // other commands), and writing this instance's whole view would undo what another one saved
  const persist = (key: string, value: number | undefined) => {
    if (!init.health) return;
    const state = init.health.load();
    if (value === undefined) delete state[key];
    else state[key] = value;
    init.health.save(state);
  };
  const observe = (b: Registry, ms: number) => {
    const old = latency.get(keyOf(b));
    const average = old === undefined ? ms : Math.round(0.7 * old + 0.3 * ms);
    latency.set(keyOf(b), average);
    persist(LATENCY + keyOf(b), average);
  };
  const keyOf = (b: Registry) => backendKey(b as Registry & { url?: unknown });
  for (const [key, until] of offlineUntil) {
    const backend = backends.find((b) => keyOf(b) === key);
    if (until > Date.now() && backend && backend !== backends.at(-1)) {
      log.warn(
        `${backend.name} was unreachable moments ago: using the next backend until ${new Date(until).toISOString()}`,
      );
    }
  }

  /** What one backend did, for the error that names every backend */
  type Failure = { backend: string; error: Error };

  const fail = (backend: Registry, err: unknown, what: string, failures: Failure[]) => {
    if (err instanceof UnavailableError && (offlineUntil.get(keyOf(backend)) ?? 0) <= Date.now()) {
      log.warn(`${backend.name} is unavailable (${(err as Error).message}); using the next backend`);
      init.onEvent?.({
        kind: "unavailable",
        backend: backend.name,
        message: `${what}: ${(err as Error).message}; using the next backend`,
      });
      const until = Date.now() + offlineMs;
      offlineUntil.set(keyOf(backend), until);
      persist(keyOf(backend), until);
    }
    log.debug(`${what}: ${backend.name} failed (${(err as Error).message}); falling back`);
    failures.push({ backend: backend.name, error: err as Error });
  };

  const succeed = (backend: Registry, what: string, started: number, fellBack: boolean) => {
    log.debug(`${what}: answered by ${backend.name}`);
    if (fellBack) {
      init.onEvent?.({ kind: "answered", backend: backend.name, message: `${what}: answered by ${backend.name}` });
    }
    if (hedged.has(backend.name)) observe(backend, performance.now() - started);
    if (offlineUntil.delete(keyOf(backend))) {
      log.info(`${backend.name} is back`);
      persist(keyOf(backend), undefined);
    }
  };

  async function first<T>(
    what: string,
    options: AbortOptions,
    attempt: (r: Registry, o: AbortOptions) => Promise<T>,
    skip: (r: Registry) => boolean = () => false,
    from = 0,
    failures: Failure[] = [],
  ): Promise<T> {
    for (let i = from; i < backends.length; i++) {
      const backend = backends[i]!;
      if (skip(backend)) continue;
      options.signal?.throwIfAborted();
      const isLast = i === backends.length - 1;
      if ((offlineUntil.get(keyOf(backend)) ?? 0) > Date.now() && !isLast) {
        log.debug(`${what}: skipping ${backend.name}, unavailable moments ago`);
        failures.push({ backend: backend.name, error: new UnavailableError(`${backend.name} is offline`) });
        continue;
      }
      log.debug(`${what}: trying ${backend.name}`);
      const started = performance.now();
      const stop = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
      const primary = attempt(backend, { ...options, signal });
      primary.catch(() => {}); // settled below
      const delay = init.hedgeMs ?? hedgeDelay(latency.get(keyOf(backend)));
      const slow = !isLast && hedged.has(backend.name) &&
        !(await Promise.race([
          primary.then(() => true, () => true),
          new Promise<false>((r) => setTimeout(() => r(false), delay)),
        ]));
      if (!slow) {
        try {
          const result = await primary;
          succeed(backend, what, started, i > 0);
          return result;
        } catch (err) {
          if (!canFallBack(err) || options.signal?.aborted) throw err;
          fail(backend, err, what, failures);
          continue;
        }
      }
      // Hedge: the next backends start now; the first answer wins and the other is aborted
      log.info(`${backend.name} has not answered in ${delay} ms: asking the next backend in parallel`);
      const stopRest = new AbortController();
      const restSignal = options.signal ? AbortSignal.any([options.signal, stopRest.signal]) : stopRest.signal;
      const restFailures: Failure[] = [];
      const rest = first(what, { ...options, signal: restSignal }, attempt, skip, i + 1, restFailures);
      rest.catch(() => {});
      try {
        const winner = await Promise.any([
          primary.then((value) => ({ value, hedge: false })),
          rest.then((value) => ({ value, hedge: true })),
        ]);
        if (winner.hedge) {
          stop.abort(new UnavailableError(`${backend.name} was slower than the next backend`));
          // What it took so far is a lower bound of its latency: the next hedge waits longer for it
          observe(backend, performance.now() - started);
          // Silent past the hedge while another backend answered: skipped like an unavailable one
          fail(backend, new UnavailableError(`no answer within ${delay} ms`), what, []);
        } else {
          stopRest.abort(new UnavailableError("the hedged backend answered first"));
          succeed(backend, what, started, i > 0);
        }
        return winner.value;
      } catch {
        // Both failed: report the primary's failure (for the breaker) and everything the rest tried
        const primaryError = await primary.then(() => undefined, (e: unknown) => e);
        if (primaryError !== undefined && (!canFallBack(primaryError) || options.signal?.aborted)) throw primaryError;
        if (primaryError !== undefined) fail(backend, primaryError, what, failures);
        failures.push(...restFailures);
        return throwEvery(what, failures);
      }
    }
    return throwEvery(what, failures);
  }

  function throwEvery(what: string, failures: Failure[]): never {
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
      const hits = await first(`search "${query.text}"`, options, (r, o) => r.search(query, o));
      searches.set(key, hits);
      return hits;
    },
    info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
      return first(`get "${id}"`, options, (r, o) => r.info(id, o));
    },
    open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
      return first(
        `fetch "${version.id}@${version.version}"`,
        options,
        (r, o) => r.open(version, { ...options, ...o }),
        (r) => r.name === "central" && options.exclude?.has("central") === true,
      );
    },
  };
}
