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
