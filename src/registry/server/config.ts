/**
 * The registry server's configuration file (`registry.toml`): listen address, tarball cap, rate
 * limits and storage. Every key is validated and an error names it; unknown keys are refused
 * with a suggestion. Credentials never live here: S3 keys come from the standard AWS environment.
 *
 * ```toml
 * [server]
 * host = "127.0.0.1"
 * port = 8787
 * max_tarball_bytes = 10485760
 * [limits]            # token buckets: `burst` requests, refilled at `burst` per `per_seconds`
 * new_package = { burst = 5, per_seconds = 3000 }
 * search = false      # off
 * [storage]
 * database = "sqlite"
 * blobs = "file"
 * ```
 * @module
 */
import { parse as parseToml } from "smol-toml";
import {
  type BucketSpec,
  ConfigError,
  DEFAULT_MAX_TARBALL_BYTES,
  DEFAULT_RATE_LIMITS,
  DEFAULT_REGISTRY_PORT,
  didYouMean,
  type RateLimits,
} from "../../core/mod.ts";
import { parseS3Url } from "./s3_blobs.ts";

/** The file `registry serve` reads from its data directory when no `--config` is given */
export const SERVER_CONFIG_FILE = "registry.toml";

/** A registry server's settings, validated */
export interface ServerConfig {
  /** Address to bind */
  host: string;
  /** TCP port; 0 picks a free one */
  port: number;
  /** Largest tarball accepted */
  maxTarballBytes: number;
  /** The URL clients reach the registry at (behind a proxy), for the download URLs of /index.json */
  publicUrl?: string;
  /** Per kind; a missing kind is unlimited (set to `false` in the file) */
  rateLimits: RateLimits;
  /**
   * Where metadata and blobs live: `database` is "sqlite" (the data directory's registry.db) or a
   * PostgreSQL URL; `blobs` is "file" (the data directory's blobs/) or an `s3://` URL
   */
  storage: { database: string; blobs: string };
}

/** The settings with no file */
export function defaultServerConfig(): ServerConfig {
  return {
    host: "127.0.0.1",
    port: DEFAULT_REGISTRY_PORT,
    maxTarballBytes: DEFAULT_MAX_TARBALL_BYTES,
    rateLimits: { ...DEFAULT_RATE_LIMITS },
    storage: { database: "sqlite", blobs: "file" },
  };
}

const LIMIT_KEYS = { new_package: "newPackage", new_version: "newVersion", search: "search", download: "download" };
const SECTIONS: Record<string, readonly string[]> = {
  server: ["host", "port", "max_tarball_bytes", "public_url"],
  limits: Object.keys(LIMIT_KEYS),
  storage: ["database", "blobs"],
};

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse and validate a `registry.toml`; `file` names it in errors */
export function parseServerConfig(text: string, file: string): ServerConfig {
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(`${file}: ${key} ${problem}`);
  };
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    throw new ConfigError(`${file}: not valid TOML: ${(err as Error).message}`, { cause: err });
  }
  const config = defaultServerConfig();
  for (const [name, section] of Object.entries(doc)) {
    const keys = SECTIONS[name];
    if (!keys) fail(`[${name}]`, `is not a known section${didYouMean(name, Object.keys(SECTIONS))}`);
    if (!isTable(section)) fail(`[${name}]`, "must be a table");
    for (const key of Object.keys(section as Table)) {
      if (!keys!.includes(key)) {
        fail(`${name}.${key}`, `is not a known key${didYouMean(key, keys!)}; known keys: ${keys!.join(", ")}`);
      }
    }
  }
  const integer = (key: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      fail(key, `must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const server = (doc.server ?? {}) as Table;
  if (server.host !== undefined) {
    if (typeof server.host !== "string" || !/^[0-9A-Za-z.:\-\[\]]{1,253}$/.test(server.host)) {
      fail("server.host", `must be a host name or address, not ${JSON.stringify(server.host)}`);
    }
    config.host = server.host as string;
  }
  if (server.port !== undefined) config.port = integer("server.port", server.port, 0, 65535);
  if (server.max_tarball_bytes !== undefined) {
    config.maxTarballBytes = integer("server.max_tarball_bytes", server.max_tarball_bytes, 1024, 2 ** 40);
  }
  if (server.public_url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(String(server.public_url));
    } catch {
      // refused below
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      fail("server.public_url", `must be an http(s) URL such as "https://registry.example.org"`);
    }
    config.publicUrl = url!.href.replace(/\/+$/, "");
  }
  const limits = (doc.limits ?? {}) as Table;
  for (const [key, kind] of Object.entries(LIMIT_KEYS) as [string, keyof RateLimits][]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (v === false) {
      delete config.rateLimits[kind];
      continue;
    }
    if (!isTable(v)) fail(`limits.${key}`, "must be { burst = N, per_seconds = S } or false");
    const t = v as Table;
    for (const k of Object.keys(t)) {
      if (k !== "burst" && k !== "per_seconds") {
        fail(`limits.${key}.${k}`, `is not a known key${didYouMean(k, ["burst", "per_seconds"])}`);
      }
    }
    const burst = integer(`limits.${key}.burst`, t.burst, 1, 1_000_000);
    if (typeof t.per_seconds !== "number" || !(t.per_seconds > 0) || t.per_seconds > 31_536_000) {
      fail(`limits.${key}.per_seconds`, `must be a number of seconds above 0, not ${JSON.stringify(t.per_seconds)}`);
    }
    config.rateLimits[kind] = { burst, refillMs: ((t.per_seconds as number) * 1000) / burst } satisfies BucketSpec;
  }
  const storage = (doc.storage ?? {}) as Table;
  if (storage.database !== undefined && storage.database !== "sqlite") {
    const db = storage.database;
    let url: URL | undefined;
    try {
      url = typeof db === "string" ? new URL(db) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) {
      fail("storage.database", `must be "sqlite" or a postgres:// URL, not ${JSON.stringify(db)}`);
    }
    // The file is often committed or shared: the password comes from the environment
    if (url!.password) {
      fail("storage.database", "must not hold a password: set PGPASSWORD in the server's environment instead");
    }
    config.storage.database = db as string;
  }
  if (storage.blobs !== undefined && storage.blobs !== "file") {
    if (typeof storage.blobs !== "string") fail("storage.blobs", `must be "file" or an s3:// URL`);
    // Parsed (and refused with the key named) now, not at the first upload
    parseS3Url(storage.blobs as string, `${file}: storage.blobs`);
    config.storage.blobs = storage.blobs as string;
  }
  return config;
}

/** A limit as the file writes it, for messages and `config check` */
export function describeLimit(spec: BucketSpec | undefined): string {
  if (!spec) return "off";
  const perSeconds = (spec.refillMs * spec.burst) / 1000;
  return `burst ${spec.burst}, refilled at ${spec.burst} per ${Number(perSeconds.toFixed(3))} s`;
}
