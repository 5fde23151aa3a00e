/**
 * The main-thread side of the P2P network: the worker client, the daemon and its client, the
 * records and announcements ggen puts on the network.
 *
 * @example
 * ```ts
 * import { startWorkerNode } from "./mod.ts";
 * import { silentLogger } from "../core/mod.ts";
 * const node = await startWorkerNode({ logger: silentLogger }, {
 *   home: "/tmp/ggen-home",
 *   listenAddrs: ["/ip4/127.0.0.1/tcp/0"],
 *   bootstrap: [],
 *   mdns: false,
 *   maxConnections: 100,
 *   inboundConnectionThreshold: 5,
 *   dhtReplicationFactor: 20,
 *   reprovideIntervalMs: 0,
 *   logLevel: "warn",
 *   maxConnectionsPerIp: 8,
 *   allowPeers: [],
 *   denyPeers: [],
 *   allowRanges: [],
 *   denyRanges: [],
 * });
 * console.log((await node.status()).peerId);
 * await node.stop();
 * ```
 * @module
 */
export { startWorkerNode, type WorkerNode, type WorkerNodeComponents, type WorkerNodeInit } from "./client.ts";
export {
  BACKGROUND_METHODS,
  type BackgroundMethod,
  connectDaemon,
  type ControlServer,
  daemonFile,
  type DaemonInfo,
  runInBackground,
  startControlServer,
  stopDaemon,
} from "./daemon.ts";
export * from "./records.ts";
export * from "./record_values.ts";
export { type Catalog, type CatalogEntry, type CatalogLimits, openCatalog, type VouchedEntry } from "./catalog.ts";
export * from "./fetch_wire.ts";
export type {
  DiscoverySource,
  FetchOptions,
  NodeStatus,
  P2PNode,
  PeerSummary,
  ProviderInfo,
  SharedDocument,
} from "./types.ts";
export * from "./protocol.ts";
export { BAN_MS, type Behaviour, Reputation, type Standing } from "./reputation.ts";
export * from "./node_calls.ts";
