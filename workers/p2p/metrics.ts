/**
 * The daemon's Prometheus metrics, kept in the worker that owns the node: libp2p's own
 * (connections, streams, kad-dht queries and their latency, gossipsub messages) through
 * `@libp2p/prometheus-metrics`, and ggen's (peers, routing table, provides, fetches served and
 * made with their bytes, misbehaviours by kind, bans, inbound refusals) read from the services
 * at scrape time. One prom-client registry per node.
 * @module
 */
import client from "prom-client";
import { prometheusMetrics } from "@libp2p/prometheus-metrics";
import type { NodeStatus } from "../../src/p2p/mod.ts";
import type { Counters } from "./types.ts";

/** What the metrics read at scrape time */
export interface NodeMetricsSources {
  status(): NodeStatus;
  counters: Counters;
  bannedCount(): number;
}

/** A node's metrics */
export interface NodeMetrics {
  /** The `metrics` factory handed to createLibp2p */
  readonly libp2p: ReturnType<typeof prometheusMetrics>;
  /** Where the services' figures come from (bound once the services exist) */
  bind(sources: NodeMetricsSources): void;
  /** The exposition text */
  render(): Promise<string>;
}

/** Create the registry and ggen's metrics */
export function createNodeMetrics(): NodeMetrics {
  const registry = new client.Registry();
  let sources: NodeMetricsSources | undefined;
  const gauge = (name: string, help: string, read: (s: NodeMetricsSources) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (sources) this.set(read(sources));
      },
    });
  gauge("ggen_p2p_peers", "Peers connected now", (s) => s.status().peerCount);
  gauge("ggen_p2p_routing_table_size", "Entries in the DHT routing table", (s) => s.status().routingTableSize);
  gauge("ggen_p2p_provided_packages", "Blobs provided on the DHT since the start", (s) => s.status().providedPackages);
  gauge("ggen_p2p_catalog_entries", "Entries in the local catalog", (s) => s.status().catalogSize);
  gauge("ggen_p2p_banned_peers", "Peers banned now", (s) => s.bannedCount());
  // Monotonic figures the services keep: exposed as counters, set at scrape time
  const counter = (name: string, help: string, read: (s: NodeMetricsSources) => number) =>
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        if (!sources) return;
        this.reset();
        this.inc(read(sources));
      },
    });
  counter("ggen_p2p_fetch_bytes_received_total", "Bytes fetched from peers", (s) => s.counters.bytesIn);
  counter("ggen_p2p_fetch_bytes_sent_total", "Bytes served to peers", (s) => s.counters.bytesOut);
  counter("ggen_p2p_fetches_served_total", "Blobs or ranges served to peers in full", (s) => s.counters.served);
  counter("ggen_p2p_fetches_made_total", "Blobs or ranges fetched from peers in full", (s) => s.counters.fetched);
  counter("ggen_p2p_inbound_refused_total", "Inbound connections refused", (s) => s.status().inboundDenied);
  counter("ggen_p2p_inbound_pruned_total", "Idle connections closed to make room", (s) => s.status().inboundPruned);
  counter(
    "ggen_p2p_routing_entries_removed_total",
    "Routing-table entries removed (dead or over the per-IP cap)",
    (s) => s.status().routingEntriesRemoved,
  );
  new client.Counter({
    name: "ggen_p2p_peer_behaviours_total",
    help: "Peer behaviours recorded in the reputation book, by kind (verified-transfer is the good one)",
    labelNames: ["behaviour"] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      for (const [behaviour, n] of Object.entries(sources.counters.judged)) this.inc({ behaviour }, n);
    },
  });
  new client.Counter({
    name: "ggen_p2p_gossip_messages_total",
    help: "Announcements received on ggen/packages/announce, by the validator's verdict (accept, reject, ignore)",
    labelNames: ["result"] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      for (const [result, n] of Object.entries(sources.counters.gossip)) this.inc({ result }, n);
    },
  });
  new client.Counter({
    name: "ggen_p2p_dht_lookups_total",
    help: "DHT lookups by kind (record, providers) and outcome (found, empty); failed lookups count as empty",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      for (const [kind, c] of Object.entries(sources.counters.lookups)) {
        this.inc({ kind, outcome: "found" }, c.count - c.empty);
        this.inc({ kind, outcome: "empty" }, c.empty);
      }
    },
  });
  new client.Counter({
    name: "ggen_p2p_dht_lookup_seconds_total",
    help: "Time spent in DHT lookups by kind: divided by ggen_p2p_dht_lookups_total, the mean latency",
    labelNames: ["kind"] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      for (const [kind, c] of Object.entries(sources.counters.lookups)) this.inc({ kind }, c.seconds);
    },
  });
  return {
    libp2p: prometheusMetrics({ registry, collectDefaultMetrics: false }),
    bind(s) {
      sources = s;
    },
    render: () => registry.metrics(),
  };
}
