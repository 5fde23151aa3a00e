/**
 * Start options for in-process test and bench nodes on loopback.
 * @module
 */
import type { WorkerNodeInit } from "../src/p2p/mod.ts";

/** A loopback node in `home`; every test node is 127.0.0.1, so the per-IP cap is lifted */
export function loopbackNodeInit(home: string, overrides: Partial<WorkerNodeInit> = {}): WorkerNodeInit {
  return {
    home,
    listenAddrs: ["/ip4/127.0.0.1/tcp/0"],
    bootstrap: [],
    mdns: false,
    maxConnections: 200,
    inboundConnectionThreshold: 1000,
    dhtReplicationFactor: 20,
    reprovideIntervalMs: 0,
    logLevel: "error",
    requestTimeoutMs: 30_000,
    maxConnectionsPerIp: 1000,
    maxRoutingEntriesPerIp: 1000,
    allowPeers: [],
    denyPeers: [],
    allowRanges: [],
    denyRanges: [],
    ...overrides,
  };
}
