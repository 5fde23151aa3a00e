/**
 * The P2P worker's start options from the configuration (`workerInit`), per kind of node: a
 * command's short-lived node, a daemon, a bootstrap node; and the swarm key of a private network.
 * @module
 */
import { ConfigError, randomHex, SECOND } from "../core/mod.ts";
import type { WorkerNodeInit } from "../p2p/mod.ts";
import { writeFileAtomic } from "../store/mod.ts";
import type { Config } from "./config.ts";

/**
 * Connections up to which a short-lived node dials the peers it discovers (mDNS, DHT answers):
 * enough to start lookups on a LAN without a bootstrap peer; its lookups dial whom they need
 */
const SHORT_LIVED_DISCOVERY_DIALS = 4;

/**
 * Peers a short-lived node's DHT queries ask, and new contacts it verifies, at a time: Kademlia's
 * α of the paper (3), not js-libp2p's 10
 */
const SHORT_LIVED_DHT_CONCURRENCY = 3;

const SWARM_KEY = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\s*$/;

/** Write a new swarm key (the go-ipfs/Kubo format that @libp2p/pnet reads), mode 0600 */
export async function generateSwarmKey(path: string): Promise<void> {
  const hex = randomHex(32);
  await writeFileAtomic(path, `/key/swarm/psk/1.0.0/\n/base16/\n${hex}`, 0o600);
  await Deno.chmod(path, 0o600);
}

/**
 * The worker's start options from the configuration.
 * @throws {ConfigError} for a private network without a key, or an unreadable key
 */
export async function workerInit(
  config: Readonly<Config>,
  o: {
    reprovideIntervalMs: number;
    onAnnouncement?: WorkerNodeInit["onAnnouncement"];
    metrics?: boolean;
    /** The bootstrap-node profile: no package store, more connections */
    bootstrapNode?: boolean;
    /** A node for one command: it asks the DHT and is not entered in peers' routing tables */
    shortLived?: boolean;
  },
): Promise<WorkerNodeInit> {
  let psk: Uint8Array | undefined;
  if (config.p2p.pskFile) {
    let text: string;
    try {
      text = await Deno.readTextFile(config.p2p.pskFile);
    } catch (err) {
      throw new ConfigError(
        `Cannot read the swarm key "${config.p2p.pskFile}" (registry.p2p.psk_file): ${(err as Error).message}`,
      );
    }
    if (!SWARM_KEY.test(text)) {
      throw new ConfigError(
        `Invalid swarm key "${config.p2p.pskFile}" (registry.p2p.psk_file): create one with \`ggen p2p psk generate\``,
      );
    }
    psk = new TextEncoder().encode(text.trimEnd());
  } else if (config.p2p.private) {
    throw new ConfigError(
      "Refusing to start: registry.p2p.private is true but registry.p2p.psk_file is not set; create a key with `ggen p2p psk generate`",
    );
  }
  return {
    home: config.home,
    listenAddrs: config.p2p.listenAddrs,
    bootstrap: config.p2p.bootstrap.map((b) => b.address),
    mdns: config.p2p.mdns,
    maxConnections: config.p2p.maxConnections,
    inboundConnectionThreshold: 100,
    dhtReplicationFactor: config.p2p.dhtReplicationFactor,
    reprovideIntervalMs: o.reprovideIntervalMs,
    ...(o.shortLived
      ? {
        dhtClientMode: true,
        discoveryDialLimit: SHORT_LIVED_DISCOVERY_DIALS,
        dhtConcurrency: SHORT_LIVED_DHT_CONCURRENCY,
      }
      : {}),
    logLevel: config.logLevel,
    requestTimeoutMs: config.p2p.requestTimeoutSecs * SECOND,
    ...(psk ? { psk } : {}),
    maxConnectionsPerIp: config.p2p.maxConnectionsPerIp,
    maxRoutingEntriesPerIp: config.p2p.maxRoutingEntriesPerIp,
    uploadLimit: config.p2p.uploadLimit,
    downloadLimit: config.p2p.downloadLimit,
    allowPeers: config.p2p.allowPeers,
    denyPeers: config.p2p.denyPeers,
    allowRanges: config.p2p.allowRanges,
    denyRanges: config.p2p.denyRanges,
    ...(o.onAnnouncement ? { onAnnouncement: o.onAnnouncement } : {}),
    ...(o.metrics ? { metrics: true } : {}),
    ...(o.bootstrapNode
      ? {
        serveStore: false,
        reprovideIntervalMs: 0,
        maxConnections: Math.max(config.p2p.maxConnections, BOOTSTRAP_NODE_CONNECTIONS),
      }
      : {}),
  };
}

/** Connections a bootstrap node keeps at least (every newcomer of the network dials it first) */
export const BOOTSTRAP_NODE_CONNECTIONS = 1000;
