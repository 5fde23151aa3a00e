/**
 * Registry backends on the client side: central (HTTP), p2p, hybrid (fallback with cache).
 *
 * @example
 * ```ts
 * import { createCentralRegistry } from "./mod.ts";
 * import { silentLogger } from "../../core/mod.ts";
 * const central = createCentralRegistry({ logger: silentLogger }, { url: "http://127.0.0.1:8787" });
 * const hits = await central.search({ text: "rust" });
 * console.log(hits.map((h) => `${h.id}@${h.version}`));
 * ```
 * @module
 */
export { type CentralRegistry, type CentralRegistryInit, createCentralRegistry } from "./central.ts";
export type { HttpSourceInit } from "./http_source.ts";
export { createStaticIndexRegistry, isStaticIndexUrl, type StaticIndexInit } from "./static_index.ts";
export { createP2PRegistry, type P2PPublishOptions, type P2PRegistry, type P2PRegistryInit } from "./p2p.ts";
export {
  type BackendHealthStore,
  createHybridRegistry,
  hedgeDelay,
  type HybridEvent,
  type HybridRegistryInit,
  LruCache,
} from "./hybrid.ts";
export { createCacheRegistry } from "./offline.ts";
export { type AddressBook, DNS_FAILURE_MS, fetchAtAddress, resolveHost } from "./last_address.ts";
export { createFlakyRegistry, createMemoryRegistry, type FlakyRegistryInit, type MemoryRegistry } from "./memory.ts";
