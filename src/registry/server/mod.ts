/**
 * The central registry server: HTTP API, SQLite metadata with FTS5, blobs on disk, tokens.
 *
 * @example
 * ```ts ignore
 * import { startRegistryServer } from "./mod.ts";
 * const server = await startRegistryServer({ logger }, { dataDir: "/tmp/reg", port: 0 });
 * await server.stop();
 * ```
 * @module
 */
export { openRegistryStorage, type RegistryServer, type RegistryServerInit, startRegistryServer } from "./server.ts";
export { createToken, hashToken, isWellFormedToken, TOKEN_SCOPES, type TokenScope } from "./auth.ts";
export type { BlobStore, MetadataStore, TokenRow } from "./storage.ts";
export { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimits } from "../../core/rate_limit.ts";
