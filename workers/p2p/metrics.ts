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

/** Labelled samples of one metric: each label set with its value */
type Samples = [Record<string, string>, number][];

/** Create the registry and ggen's metrics */
export function createNodeMetrics(): NodeMetrics {
  const registry = new client.Registry();
  let sources: NodeMetricsSources | undefined;
  /** The node's status, read once per scrape and shared by every metric that needs it */
  let scrape: { sources: NodeMetricsSources; status: NodeStatus } | undefined;
  const gauge = (name: string, help: string, read: (s: NodeMetricsSources, status: NodeStatus) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (scrape) this.set(read(scrape.sources, scrape.status));
      },
    });
  gauge("ggen_p2p_peers", "Peers connected now", (_s, st) => st.peerCount);
  gauge("ggen_p2p_routing_table_size", "Entries in the DHT routing table", (_s, st) => st.routingTableSize);
  gauge("ggen_p2p_provided_packages", "Blobs provided on the DHT since the start", (_s, st) => st.providedPackages);
  gauge("ggen_p2p_catalog_entries", "Entries in the local catalog", (_s, st) => st.catalogSize);
  gauge("ggen_p2p_banned_peers", "Peers banned now", (s) => s.bannedCount());
  // Monotonic figures the services keep: exposed as counters, set at scrape time
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    read: (s: NodeMetricsSources, status: NodeStatus) => Samples,
  ) =>
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        if (!scrape) return;
        this.reset();
        for (const [labels, value] of read(scrape.sources, scrape.status)) this.inc(labels, value);
      },
    });
  const one = (read: (s: NodeMetricsSources, status: NodeStatus) => number) =>
  (
    s: NodeMetricsSources,
    st: NodeStatus,
  ): Samples => [[{}, read(s, st)]];
  counter("ggen_p2p_fetch_bytes_received_total", "Bytes fetched from peers", [], one((s) => s.counters.bytesIn));
  counter("ggen_p2p_fetch_bytes_sent_total", "Bytes served to peers", [], one((s) => s.counters.bytesOut));
  counter(
    "ggen_p2p_fetches_served_total",
    "Blobs or ranges served to peers in full",
    [],
    one((s) => s.counters.served),
  );
  counter(
    "ggen_p2p_fetches_made_total",
    "Blobs or ranges fetched from peers in full",
    [],
    one((s) => s.counters.fetched),
  );
  counter("ggen_p2p_inbound_refused_total", "Inbound connections refused", [], one((_s, st) => st.inboundDenied));
  counter(
    "ggen_p2p_inbound_pruned_total",
    "Idle connections closed to make room",
    [],
    one((_s, st) => st.inboundPruned),
  );
  counter(
    "ggen_p2p_routing_entries_removed_total",
    "Routing-table entries removed (dead or over the per-IP cap)",
    [],
    one((_s, st) => st.routingEntriesRemoved),
  );
  counter(
    "ggen_p2p_peer_behaviours_total",
    "Peer behaviours recorded in the reputation book, by kind (verified-transfer is the good one)",
    ["behaviour"],
    (s) => Object.entries(s.counters.judged).map(([behaviour, n]) => [{ behaviour }, n]),
  );
  counter(
    "ggen_p2p_gossip_messages_total",
    "Announcements received on ggen/packages/announce, by the validator's verdict (accept, reject, ignore)",
    ["result"],
    (s) => Object.entries(s.counters.gossip).map(([result, n]) => [{ result }, n]),
  );
  counter(
    "ggen_p2p_dht_lookups_total",
    "DHT lookups by kind (record, providers) and outcome (found, empty); failed lookups count as empty",
    ["kind", "outcome"],
    (s) =>
      Object.entries(s.counters.lookups).flatMap(([kind, c]): Samples => [
        [{ kind, outcome: "found" }, c.count - c.empty],
        [{ kind, outcome: "empty" }, c.empty],
      ]),
  );
  counter(
    "ggen_p2p_dht_lookup_seconds_total",
    "Time spent in DHT lookups by kind: divided by ggen_p2p_dht_lookups_total, the mean latency",
    ["kind"],
    (s) => Object.entries(s.counters.lookups).map(([kind, c]) => [{ kind }, c.seconds]),
  );
  return {
    libp2p: prometheusMetrics({ registry, collectDefaultMetrics: false }),
    bind(s) {
      sources = s;
    },
    async render() {
      // A snapshot per scrape (two scrapes at once each read a whole, recent one)
      scrape = sources ? { sources, status: sources.status() } : undefined;
      return await registry.metrics();
    },
  };
}
