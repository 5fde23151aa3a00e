/**
 * Token-bucket rate limits, shared by the registry server and the P2P node, with defaults like crates.io's: a new package id burst 5 then one per
 * 10 minutes per token, new versions burst 30 then one per minute per token, and per-IP limits on
 * unauthenticated search and download. Exceeding one answers 429 with Retry-After.
 * @module
 */
import { RateLimitError } from "./errors.ts";

/** One bucket's shape */
export interface BucketSpec {
  /** Tokens in a full bucket */
  burst: number;
  /** Milliseconds to refill one token */
  refillMs: number;
}

/** Every limit; a missing key means unlimited */
export interface RateLimits {
  /** Publishes of new ids, per token */
  newPackage?: BucketSpec;
  /** Publishes of new versions, per token */
  newVersion?: BucketSpec;
  /** Searches, per IP or token */
  search?: BucketSpec;
  /** Downloads, per IP or token */
  download?: BucketSpec;
  /** P2P fetch requests per peer */
  peerFetch?: BucketSpec;
}

/** crates.io-like defaults */
export const DEFAULT_RATE_LIMITS: Omit<Required<RateLimits>, "peerFetch"> = {
  newPackage: { burst: 5, refillMs: 10 * 60 * 1000 },
  newVersion: { burst: 30, refillMs: 60 * 1000 },
  search: { burst: 100, refillMs: 100 },
  download: { burst: 300, refillMs: 50 },
};

/** Fetch requests a peer may make: a burst of 32, then 10 per second */
export const DEFAULT_PEER_FETCH_LIMIT: BucketSpec = { burst: 32, refillMs: 100 };

/** Most keys tracked per limit, so a flood of addresses cannot grow memory without bound */
const MAX_KEYS = 100_000;

/** A set of buckets keyed by token hash or IP */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  #limits: RateLimits;
  #now: () => number;
  /**
   * Create the buckets.
   *
   * @param limits buckets by name
   * @param now the clock (tests)
   */
  constructor(limits: RateLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /**
   * Take one token from `kind` for `key`.
   * @throws {RateLimitError} with the seconds until one is available
   */
  take(kind: keyof RateLimits, key: string): void {
    const spec = this.#limits[kind];
    if (!spec) return;
    const id = `${kind}\0${key}`;
    const now = this.#now();
    const b = this.#buckets.get(id) ?? { tokens: spec.burst, at: now };
    b.tokens = Math.min(spec.burst, b.tokens + (now - b.at) / spec.refillMs);
    b.at = now;
    if (b.tokens < 1) {
      const wait = Math.ceil(((1 - b.tokens) * spec.refillMs) / 1000);
      this.#buckets.set(id, b);
      throw new RateLimitError(`Rate limit for ${kind} reached: retry in ${wait} s`, wait);
    }
    b.tokens -= 1;
    this.#buckets.delete(id);
    this.#buckets.set(id, b);
    if (this.#buckets.size > MAX_KEYS) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}

/**
 * A byte-rate limit shared by every transfer of a node (design §13 `upload_limit` and
 * `download_limit`): a token bucket holding at most `burstMs` worth of bytes; `take` waits
 * until `bytes` may pass. Unset (0) means unlimited.
 */
export class BandwidthLimit {
  #rate: number;
  #burst: number;
  #tokens: number;
  #at: number;
  #queue: Promise<void> = Promise.resolve();
  /**
   * Create the limit.
   *
   * @param bytesPerSecond the sustained rate; 0 disables the limit
   * @param burstMs how much unused rate may be saved up
   */
  constructor(bytesPerSecond: number, burstMs = 250) {
    this.#rate = bytesPerSecond;
    this.#burst = Math.max(1, (bytesPerSecond * burstMs) / 1000);
    this.#tokens = this.#burst;
    this.#at = performance.now();
  }
  /** Bytes per second; 0 when unlimited */
  get rate(): number {
    return this.#rate;
  }
  /** Wait until `bytes` may pass; callers queue in order */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#rate <= 0) return Promise.resolve();
    const turn = this.#queue.then(async () => {
      const now = performance.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
      this.#at = now;
      this.#tokens -= bytes;
      if (this.#tokens < 0) {
        const waitMs = (-this.#tokens * 1000) / this.#rate;
        signal?.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, waitMs);
          signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          }, { once: true });
        });
      }
    });
    // One caller's abort must not stall the queue for the others
    this.#queue = turn.catch(() => {});
    return turn;
  }
}
