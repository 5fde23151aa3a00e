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
export { type ControlServer, startControlServer } from "./daemon.ts";
export { BACKGROUND_METHODS, type BackgroundMethod, daemonFile, type DaemonInfo } from "./daemon_auth.ts";
export { asDaemonClient, connectDaemon, DaemonClient, runInBackground, stopDaemon } from "./daemon_client.ts";
export {
  createDashboard,
  type Dashboard,
  DASHBOARD_CSP,
  type DashboardServer,
  type DashboardState,
  type DashboardStateComponents,
  type HeldPackage,
  type NetworkEvent,
  SESSION_COOKIE,
} from "./dashboard/mod.ts";
export * from "./records.ts";
export * from "./announcements.ts";
export * from "./record_values.ts";
export { type Catalog, type CatalogEntry, type CatalogLimits, openCatalog, type VouchedEntry } from "./catalog.ts";
export * from "./fetch_wire.ts";
export type {
  DiscoverySource,
  FetchOptions,
  FindProvidersOptions,
  IsolateMemory,
  NetworkTraffic,
  NodeMemory,
  NodeStatus,
  P2PNode,
  PeerSummary,
  ProviderInfo,
  RankedPeer,
  Reach,
  SharedDocument,
  TransferSummary,
} from "./types.ts";
export { isolateMemory, MAX_EXCLUDED_PROVIDERS, REACHES, workerMemory } from "./types.ts";
export * from "./protocol.ts";
export { BAN_MS, type Behaviour, Reputation, type Standing } from "./reputation.ts";
export * from "./node_calls.ts";
