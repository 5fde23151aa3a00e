/**
 * The main thread's view of a P2P node, implemented by the in-process worker client and by the
 * daemon client alike.
 * @module
 */
import type { AbortOptions } from "../core/registry.ts";
import type { CatalogEntry } from "./catalog.ts";
import type { Announcement, RecordValue } from "./records.ts";
import type { Behaviour } from "./reputation.ts";

/** `ggen p2p status` */
export interface NodeStatus {
  peerId: string;
  listenAddrs: string[];
  peerCount: number;
  routingTableSize: number;
  providedPackages: number;
  catalogSize: number;
  uptimeMs: number;
  /** Inbound connections refused by the per-IP cap or the address lists */
  inboundDenied: number;
  bytesIn: number;
  bytesOut: number;
}

/** How a peer was found */
export type DiscoverySource = "mdns" | "bootstrap" | "dht" | "inbound" | "dial";

/** `ggen p2p peers` */
export interface PeerSummary {
  peerId: string;
  address: string;
  latencyMs: number | null;
  source: DiscoverySource;
  /** Reputation score (decayed); bans at -40 */
  score: number;
}

/** A provider of some content */
export interface ProviderInfo {
  peerId: string;
  addrs: string[];
}

/** Options of a fetch */
export interface FetchOptions extends AbortOptions {
  /** First byte to send */
  offset?: number;
  /** Bytes to send from `offset`; the rest of the blob when absent */
  length?: number;
  /** Abort when no byte arrives for this long */
  stallMs?: number;
}

/** A running P2P node */
export interface P2PNode {
  readonly kind: "worker" | "daemon";
  status(options?: AbortOptions): Promise<NodeStatus>;
  peers(options?: AbortOptions): Promise<PeerSummary[]>;
  dial(multiaddr: string, options?: AbortOptions): Promise<void>;
  provide(sha256: string, options?: AbortOptions): Promise<void>;
  findProviders(sha256: string, options?: AbortOptions & { limit?: number }): Promise<ProviderInfo[]>;
  /** Put a JSON record under a `/ggen/...` key */
  putRecord(key: string, value: string, options?: AbortOptions): Promise<void>;
  /** Every verified value found for a key with the peers that sent it, newest first */
  getRecords(key: string, options?: AbortOptions): Promise<RecordValue[]>;
  /** Stream a blob from one peer; the caller verifies it */
  fetch(peerId: string, sha256: string, options?: FetchOptions): Promise<ReadableStream<Uint8Array>>;
  announce(announcement: Announcement, options?: AbortOptions): Promise<void>;
  /** Local catalog plus connected peers' catalogs */
  search(text: string, limit: number, options?: AbortOptions): Promise<CatalogEntry[]>;
  /** Record what a peer did: verified transfers raise its score, misbehaviour lowers it */
  penalize(peerId: string, reason: string, behaviour?: Behaviour): Promise<void>;
  /** Refuse a peer for `ms` */
  ban(peerId: string, ms?: number): Promise<void>;
  unban(peerId: string): Promise<void>;
  /** Peers banned now */
  banned(): Promise<string[]>;
  stop(): Promise<void>;
}
