/**
 * What the worker's services share: the node's type, the log function and byte counters.
 * @module
 */
import type { Libp2p } from "libp2p";
import type { Ping } from "@libp2p/ping";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import type { GossipSub } from "@libp2p/gossipsub";
import type { LogLevel } from "../../src/core/mod.ts";

/** The libp2p services ggen runs */
export type Services = { identify: unknown; ping: Ping; dht: SingleKadDHT; pubsub: GossipSub };

/** The node */
export type P2PLibp2p = Libp2p<Services>;

/** Where the services log (the worker forwards it to the main thread's logger) */
export type Log = (level: LogLevel, message: string) => void;

/** What the fetch protocol and the reputation book did, for status and metrics */
export interface Counters {
  bytesIn: number;
  bytesOut: number;
  /** Blobs (or ranges) served to peers in full */
  served: number;
  /** Blobs (or ranges) fetched from peers in full */
  fetched: number;
  /** Peer misbehaviours recorded, by kind (wrong bytes, invalid records, stalls…) */
  judged: Record<string, number>;
  /** Gossip announcements by the validator's verdict (accept, reject, ignore) */
  gossip: Record<string, number>;
  /** DHT lookups by kind (record, providers): how many, how many found nothing, their total seconds */
  lookups: Record<string, { count: number; empty: number; seconds: number }>;
}

/** Count one DHT lookup of `kind` that took `seconds` and found `found` results */
export function countLookup(counters: Counters | undefined, kind: string, seconds: number, found: number): void {
  if (!counters) return;
  const c = counters.lookups[kind] ??= { count: 0, empty: 0, seconds: 0 };
  c.count++;
  c.seconds += seconds;
  if (found === 0) c.empty++;
}
