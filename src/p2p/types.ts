/**
 * The main thread's view of a P2P node, implemented by the in-process worker client and by the
 * daemon client alike.
 * @module
 */
import type { AbortOptions } from "../core/mod.ts";
import type { CatalogEntry, VouchedEntry } from "./catalog.ts";
import type { Announcement } from "./announcements.ts";
import type { RecordValue } from "./record_values.ts";
import type { Behaviour } from "./reputation.ts";

/** `ggen p2p status` */
export interface NodeStatus {
  /** libp2p PeerId of this node */
  peerId: string;
  /** Multiaddrs the node listens on */
  listenAddrs: string[];
  /** Peers with an open connection */
  peerCount: number;
  /** Peers in the DHT routing table */
  routingTableSize: number;
  /** Packages this node provided since it started */
  providedPackages: number;
  /** Entries in the local catalog */
  catalogSize: number;
  /** Milliseconds since the node started */
  uptimeMs: number;
  /** Inbound connections refused by the per-IP cap, the address lists or full slots */
  inboundDenied: number;
  /** Idle inbound connections closed to make room for new ones */
  inboundPruned: number;
  /** Routing-table entries removed as unreachable or over the per-IP cap */
  routingEntriesRemoved: number;
  /** Bytes received by the fetch protocol */
  bytesIn: number;
  /** `upload_limit` in bytes per second; 0 when unlimited */
  uploadLimit: number;
  /** `download_limit` in bytes per second; 0 when unlimited */
  downloadLimit: number;
  /** Bytes sent by the fetch protocol */
  bytesOut: number;
  /** libp2p's own counts of its protocol streams, in total and per protocol */
  network: NetworkTraffic;
  /**
   * Routing-table entries by k-bucket: index i counts the peers whose Kademlia id shares exactly
   * i leading bits with this node's (the dashboard draws them)
   */
  routingBuckets: number[];
  /** Where the process's memory sits (the daemon's `p2p status` and the benchmarks show it) */
  memory?: NodeMemory;
}

/** Memory of the process that runs a node, in bytes */
export interface NodeMemory {
  /** Resident set of the whole process: both isolates, the runtime, compiled code, stacks */
  rss: number;
  /** The isolate that owns libp2p (the Web Worker) */
  worker: IsolateMemory;
  /** The main thread's isolate (CLI, control API, dashboard); absent when not reported */
  main?: IsolateMemory;
}

/** One V8 isolate's share, as `Deno.memoryUsage()` reports it there */
export interface IsolateMemory {
  /** Live objects on the V8 heap */
  heapUsed: number;
  /** The V8 heap reserved (live objects, garbage not yet collected, free space) */
  heapTotal: number;
  /** Memory outside the heap that V8 accounts for: ArrayBuffers, buffers of native objects */
  external: number;
}

/** Bytes a node moved, as libp2p counted them */
export interface NetworkTraffic {
  /** Received on every protocol stream (payloads: noise and yamux framing not counted) */
  bytesIn: number;
  /** Sent on every protocol stream */
  bytesOut: number;
  /** Stream payloads by protocol id */
  protocols: Record<string, { bytesIn: number; bytesOut: number }>;
}

/** A blob moving between this node and a peer, now */
export interface TransferSummary {
  /** "upload": this node serves a peer; "download": this node fetches from one */
  direction: "upload" | "download";
  /** The other peer */
  peerId: string;
  /** SHA-256 of the blob, hex */
  sha256: string;
  /** Bytes moved so far */
  bytes: number;
  /** Bytes this transfer moves in all */
  size: number;
  /** When it started, epoch milliseconds */
  startedAt: number;
}

/** A registry-signed package document as a peer served it: unverified until the caller checks it */
export interface SharedDocument {
  /** PeerId that served it */
  from: string;
  /** The document's JSON text */
  document: string;
}

/** How a peer was found */
export type DiscoverySource = "mdns" | "bootstrap" | "dht" | "inbound" | "dial";

/** `ggen p2p peers` */
export interface PeerSummary {
  /** libp2p PeerId of the peer */
  peerId: string;
  /** Remote multiaddr of the connection */
  address: string;
  /** Ping round trip, or null when the peer did not answer in time */
  latencyMs: number | null;
  /** How the peer was found */
  source: DiscoverySource;
  /** Reputation score (decayed); bans at -40 */
  score: number;
}

/** What a node knows of reaching a peer: connected now, not known, or a dial failed lately */
export const REACHES = ["connected", "unknown", "unreachable"] as const;

/** One of {@link REACHES} */
export type Reach = typeof REACHES[number];

/** A peer as {@link P2PNode.rankPeers} ranks it */
export interface RankedPeer {
  /** libp2p PeerId of the peer */
  peerId: string;
  /** Connected now, not known, or a dial to it failed lately */
  reach: Reach;
}

/** A provider of some content */
export interface ProviderInfo {
  /** libp2p PeerId of the peer */
  peerId: string;
  /** Multiaddrs the peer is reachable at */
  addrs: string[];
  /** What the node knows of reaching it (a lookup's answer; absent from older daemons) */
  reach?: Reach;
}

/** Options of a fetch */
export interface FetchOptions extends AbortOptions {
  /** First byte to send */
  offset?: number;
  /** Bytes to send from `offset`; the rest of the blob when absent */
  length?: number;
  /** Abort when no byte arrives for this long */
  stallMs?: number;
  /** The size the signed record declares: a peer announcing another size is refused before its first byte */
  expectedSize?: number;
  /** Slowest acceptable average rate after a grace period (slow-drip defence). @default MIN_FETCH_BYTES_PER_SECOND */
  minBytesPerSecond?: number;
}

/** Most peers one provider lookup may leave out ({@link FindProvidersOptions.exclude}) */
export const MAX_EXCLUDED_PROVIDERS = 64;

/** Options of {@link P2PNode.findProviders} */
export interface FindProvidersOptions {
  /**
   * The lookup ends once it found this many. The answers read by then are returned whole (at
   * most 20 providers): the spares cost nothing, and a download fails over to them when a
   * provider record outlived its holder. @default 20
   */
  limit?: number;
  /**
   * Peers already known for other reasons (they vouched through their catalog): neither returned
   * nor counted toward `limit`, so the lookup stops once it has that many others. At most
   * {@link MAX_EXCLUDED_PROVIDERS}
   */
  exclude?: string[];
}

/** A running P2P node */
export interface P2PNode {
  /** "worker" (this process) or "daemon" (`ggen p2p start`) */
  readonly kind: "worker" | "daemon";
  /** The node's figures */
  status(options?: AbortOptions): Promise<NodeStatus>;
  /** Connected peers with latency, source and score */
  peers(options?: AbortOptions): Promise<PeerSummary[]>;
  /** Prometheus text exposition of the node (empty unless it keeps metrics) */
  metrics(options?: AbortOptions): Promise<string>;
  /** Connect to a multiaddr */
  dial(multiaddr: string, options?: AbortOptions): Promise<void>;
  /** Announce on the DHT that this node has a blob */
  provide(sha256: string, options?: AbortOptions): Promise<void>;
  /** Peers that provide a blob, better-reputed first */
  findProviders(sha256: string, options?: AbortOptions & FindProvidersOptions): Promise<ProviderInfo[]>;
  /**
   * `peerIds` (at most {@link MAX_EXCLUDED_PROVIDERS}) in the order a download should ask them:
   * connected first, peers a dial failed to reach lately last, better-reputed first within each
   */
  rankPeers(peerIds: string[], options?: AbortOptions): Promise<RankedPeer[]>;
  /** Put a JSON record under a `/ggen/...` key */
  putRecord(key: string, value: string, options?: AbortOptions): Promise<void>;
  /** Every verified value found for a key with the peers that sent it, newest first */
  getRecords(key: string, options?: AbortOptions): Promise<RecordValue[]>;
  /** Registry-signed documents of package `id` that connected peers keep (the caller verifies them) */
  getMetadata(id: string, options?: AbortOptions): Promise<SharedDocument[]>;
  /** Stream a blob from one peer; the caller verifies it */
  fetch(peerId: string, sha256: string, options?: FetchOptions): Promise<ReadableStream<Uint8Array>>;
  /** Publish an announcement on gossipsub and record it in the catalog */
  announce(announcement: Announcement, options?: AbortOptions): Promise<void>;
  /** Local catalog plus connected peers' catalogs */
  search(text: string, limit: number, options?: AbortOptions): Promise<CatalogEntry[]>;
  /** Every signed version of package `id` in the connected peers' catalogs, each with the peers that returned it */
  catalogVersions(id: string, options?: AbortOptions): Promise<VouchedEntry[]>;
  /** Record what a peer did: verified transfers raise its score, misbehaviour lowers it */
  penalize(peerId: string, reason: string, behaviour?: Behaviour): Promise<void>;
  /** Refuse a peer for `ms` */
  ban(peerId: string, ms?: number): Promise<void>;
  /** Lift the ban of a peer */
  unban(peerId: string): Promise<void>;
  /** Peers banned now */
  banned(): Promise<string[]>;
  /** Blobs moving between this node and its peers now */
  transfers(options?: AbortOptions): Promise<TransferSummary[]>;
  /**
   * Stop, releasing everything it started. `quick`: keep what the node learned (reputation, who
   * served what) but skip libp2p's orderly goodbye to each peer; for a node whose process ends now
   * (a short-lived node: peers see its connections close either way)
   */
  stop(options?: { quick?: boolean }): Promise<void>;
}

/** This isolate's share of the process's memory, from `usage` when it was read already */
export function isolateMemory(usage: Deno.MemoryUsage = Deno.memoryUsage()): IsolateMemory {
  return { heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external };
}

/** The process's resident set and this isolate's share, read once: what the node's worker reports */
export function workerMemory(): NodeMemory {
  const usage = Deno.memoryUsage();
  return { rss: usage.rss, worker: isolateMemory(usage) };
}
