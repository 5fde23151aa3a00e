/**
 * The typed message protocol between the main thread and the P2P worker. Both sides import
 * this module and nothing else of each other.
 *
 * Requests carry an `id` and a timeout; replies are `{ id, ok: true, value }` or
 * `{ id, ok: false, error }`; `{ type: "cancel", id }` aborts a request in the worker. A fetch
 * replies with the total size first, then streams `chunk` messages whose buffers are
 * transferred, never copied; the main thread grants `credit` so the worker never pushes
 * without limit.
 * @module
 */
import type { LogLevel, SerializedError } from "../core/mod.ts";
import type { CatalogEntry, VouchedEntry } from "./catalog.ts";
import type { Announcement } from "./announcements.ts";
import type { RecordValue } from "./record_values.ts";
import type { Behaviour } from "./reputation.ts";
import type { NodeStatus, PeerSummary, ProviderInfo, RankedPeer, SharedDocument, TransferSummary } from "./types.ts";

/** What the worker needs to start its node */
export interface WorkerStartInit {
  /** `$GGEN_HOME`: identity.key, cache/sha256 and p2p.db live there */
  home: string;
  /** Multiaddrs the node listens on */
  listenAddrs: string[];
  /** Bootstrap peer multiaddrs, each with /p2p/<id> */
  bootstrap: string[];
  /** Discover peers on the LAN by mDNS */
  mdns: boolean;
  /** Most open connections */
  maxConnections: number;
  /** Inbound connections accepted per second per IP (js-libp2p default 5) */
  inboundConnectionThreshold: number;
  /** Kademlia bucket size and replication factor */
  dhtReplicationFactor: number;
  /** Re-provide everything in the store this often; 0 disables */
  reprovideIntervalMs: number;
  /**
   * Query the DHT without answering it (Kademlia client mode): for a node that lives as long as one
   * command, which in its peers' routing tables would soon be an entry that no longer answers
   */
  dhtClientMode?: boolean;
  /**
   * Discovered peers are dialled only while fewer connections than this are open. A daemon keeps
   * its LAN connected (@default its inbound share); a node for one command needs a few to start
   * its lookups, and every further dial is a handshake both ends pay for while the command waits
   */
  discoveryDialLimit?: number;
  /**
   * Peers one DHT query asks at a time (Kademlia's α) and new routing-table contacts (from query
   * answers) verified at a time, js-libp2p's default 10 for both. A node for one command sets it
   * low: each new peer is a handshake on the worker's one thread, still running uncompiled code,
   * and ten at once delayed the command's own download by hundreds of ms
   */
  dhtConcurrency?: number;
  /** Log level of the worker */
  logLevel: LogLevel;
  /** Swarm key (the whole key file) of a private network */
  psk?: Uint8Array;
  /** Most simultaneous inbound connections from one IP address (go-libp2p: 8 per IPv4) */
  maxConnectionsPerIp: number;
  /** Bytes per second this node sends to peers, all transfers together; 0 or absent: unlimited */
  uploadLimit?: number;
  /** Bytes per second this node receives from peers, all transfers together; 0 or absent: unlimited */
  downloadLimit?: number;
  /** Most Kademlia routing-table entries sharing one IP address. @default 4 */
  maxRoutingEntriesPerIp?: number;
  /** Time between liveness sweeps of the routing table; 0 disables them. @default 30000 */
  routingSweepIntervalMs?: number;
  /** Keep Prometheus metrics (libp2p's and ggen's) for the `metrics` call */
  metrics?: boolean;
  /**
   * A bootstrap node (design §5.3): routing, records and announcements only; no package bytes
   * are served or provided (the fetch protocol is not even registered)
   */
  serveStore?: boolean;
  /** When not empty, only these PeerIds may connect */
  allowPeers: string[];
  /** PeerIds that may never connect */
  denyPeers: string[];
  /** When not empty, only addresses in these CIDR ranges may connect */
  allowRanges: string[];
  /** CIDR ranges that may never connect */
  denyRanges: string[];
}

/** Every request the worker answers: params and result */
export interface WorkerMethods {
  /** Start */
  start: { params: WorkerStartInit; result: { peerId: string; listenAddrs: string[] } };
  /** Stop, releasing everything it started */
  stop: { params: { quick?: boolean }; result: void };
  /** The node's figures */
  status: { params: Record<string, never>; result: NodeStatus };
  /** Connected peers with latency, source and score */
  peers: { params: Record<string, never>; result: PeerSummary[] };
  /** Prometheus text exposition; empty when the node was started without `metrics` */
  metrics: { params: Record<string, never>; result: string };
  /** Connect to a multiaddr */
  dial: { params: { multiaddr: string }; result: void };
  /** Announce on the DHT that this node has a blob */
  provide: { params: { sha256: string }; result: void };
  /** Peers that provide a blob, better-reputed first */
  findProviders: { params: { sha256: string; limit: number; exclude?: string[] }; result: ProviderInfo[] };
  /** Peers in the order a download should ask them, with what the node knows of reaching each */
  rankPeers: { params: { peerIds: string[] }; result: RankedPeer[] };
  /** Verify and put a signed record on the DHT */
  putRecord: { params: { key: string; value: string }; result: void };
  /** Every valid value of a DHT key with the peers that returned it, newest first */
  getRecords: { params: { key: string }; result: RecordValue[] };
  /** Registry-signed documents of a package that connected peers keep, unverified */
  getMetadata: { params: { id: string }; result: SharedDocument[] };
  /** Publish an announcement on gossipsub and record it in the catalog */
  announce: { params: { announcement: Announcement }; result: void };
  /** The local catalog plus the connected peers' catalogs */
  search: { params: { text: string; limit: number }; result: CatalogEntry[] };
  /** Every signed version of a package in the connected peers' catalogs, with who returned it */
  catalogVersions: { params: { id: string }; result: VouchedEntry[] };
  /** Record a peer's behaviour in its reputation */
  penalize: { params: { peerId: string; reason: string; behaviour: Behaviour }; result: void };
  /** Ban a peer (default one hour) and close its connections */
  ban: { params: { peerId: string; ms: number }; result: void };
  /** Lift the ban of a peer */
  unban: { params: { peerId: string }; result: void };
  /** PeerIds banned now */
  banned: { params: Record<string, never>; result: string[] };
  /** Blobs moving between this node and its peers now */
  transfers: { params: Record<string, never>; result: TransferSummary[] };
  /** Result arrives before the chunks: the total size */
  fetch: {
    params: {
      peerId: string;
      sha256: string;
      offset: number;
      length?: number;
      stallMs: number;
      /** Refuse a peer whose declared total differs, before its first byte */
      expectedSize?: number;
      /** Slowest acceptable average rate after the grace period */
      minBytesPerSecond?: number;
    };
    result: { total: number };
  };
}

/** A method name */
export type WorkerMethod = keyof WorkerMethods;

/** A request, one per method */
export type RequestMessage = {
  [K in WorkerMethod]: {
    type: "request";
    id: number;
    method: K;
    params: WorkerMethods[K]["params"];
    timeoutMs: number;
  };
}[WorkerMethod];

/** Messages the main thread sends */
export type MainToWorker =
  | RequestMessage
  | { type: "cancel"; id: number }
  | { type: "credit"; id: number; chunks: number };

/** Messages the worker sends */
export type WorkerToMain =
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: SerializedError }
  | { type: "chunk"; id: number; data: Uint8Array }
  | { type: "end"; id: number }
  | { type: "stream-error"; id: number; error: SerializedError }
  | { type: "log"; level: LogLevel; component: string; message: string }
  | { type: "announcement"; announcement: Announcement; from: string };

/** Chunks the worker may send ahead of the reader */
export const INITIAL_CREDIT = 16;

/** Build a request */
export function request<K extends WorkerMethod>(
  id: number,
  method: K,
  params: WorkerMethods[K]["params"],
  timeoutMs: number,
): RequestMessage {
  return { type: "request", id, method, params, timeoutMs } as RequestMessage;
}

/** Build a success reply */
export function okReply(id: number, value: unknown): WorkerToMain {
  return { type: "reply", id, ok: true, value };
}

/** Build a failure reply */
export function errorReply(id: number, error: SerializedError): WorkerToMain {
  return { type: "reply", id, ok: false, error };
}
