/**
 * The central registry server: HTTP API, SQLite metadata with FTS5, blobs on disk, tokens.
 *
 * @example
 * ```ts
 * import { startRegistryServer } from "./mod.ts";
 * import { silentLogger } from "../../core/mod.ts";
 * const server = await startRegistryServer({ logger: silentLogger }, { dataDir: "/tmp/ggen-registry", port: 0 });
 * console.log(server.url);
 * await server.stop();
 * ```
 * @module
 */
export { openRegistryStorage, type RegistryServer, type RegistryServerInit, startRegistryServer } from "./server.ts";
export type { HandlerInit } from "./handler.ts";
export { buildIndexJson, type DownloadUrlOf } from "./index_json.ts";
export { migrateRegistry, type MigrationReport, type RegistryStorage } from "./migrate.ts";
export {
  defaultServerConfig,
  describeLimit,
  parseServerConfig,
  SERVER_CONFIG_FILE,
  type ServerConfig,
} from "./config.ts";
export type { HttpServerInit } from "./http_server.ts";
export {
  createToken,
  type CreateTokenInit,
  hashToken,
  isWellFormedToken,
  TOKEN_SCOPES,
  type TokenScope,
} from "./auth.ts";
export type {
  BlobStore,
  ByteRange,
  MetadataStore,
  OwnerChange,
  PackageDocumentState,
  PackageRecord,
  PublishAuth,
  TokenRow,
} from "./storage.ts";
export { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimits } from "../../core/rate_limit.ts";
