/**
 * Registry backends on the client side: central (HTTP), p2p, hybrid (fallback with cache).
 *
 * @example
 * ```ts ignore
 * import { createCentralRegistry } from "./mod.ts";
 * const central = createCentralRegistry({ logger }, { url: "http://127.0.0.1:8787" });
 * const hits = await central.search({ text: "rust" });
 * ```
 * @module
 */
export { type CentralRegistry, type CentralRegistryInit, createCentralRegistry } from "./central.ts";
export { createP2PRegistry, type P2PPublishOptions, type P2PRegistry, type P2PRegistryInit } from "./p2p.ts";
export { createHybridRegistry, type HybridRegistryInit, LruCache } from "./hybrid.ts";
export { createFlakyRegistry, createMemoryRegistry, type FlakyRegistryInit, type MemoryRegistry } from "./memory.ts";
