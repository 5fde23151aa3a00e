/**
 * The P2P service of the worker: composes the reputation book, the access gate, the node and
 * the protocol services, answers every method of the worker protocol, and stops everything it
 * started. It runs without a worker too (the services' tests use it in-process).
 * @module
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection } from "@libp2p/interface";
import { join } from "node:path";
import {
  type Announcement,
  type Catalog,
  type DiscoverySource,
  type NodeStatus,
  openCatalog,
  type PeerSummary,
  workerMemory,
  type WorkerStartInit,
  type WorkerToMain,
} from "../../src/p2p/mod.ts";
import { UnavailableError } from "../../src/core/mod.ts";
import { type AccessGate, createAccessGate } from "./access.ts";
import { type CatalogService, createCatalogService } from "./catalog_service.ts";
import { createFetchService, type FetchService } from "./fetch_service.ts";
import { createMetadataService, type MetadataService } from "./metadata_service.ts";
import { createNode } from "./node.ts";
import { createProviderService, type ProviderService } from "./providers.ts";
import { createReachability } from "./reachability.ts";
import { createRecordService, type RecordService } from "./records_service.ts";
import { createRoutingHygiene, routingBuckets, type RoutingHygiene } from "./routing_hygiene.ts";
import { createBootstrapKeeper } from "./bootstrap_keeper.ts";
import { createServedBy } from "./served_by.ts";
import { createSlotKeeper, type SlotKeeper } from "./slots.ts";
import { createReputationBook, type ReputationBook } from "./reputation_book.ts";
import { createTrafficCounter } from "./traffic.ts";
import type { Counters, Log, P2PLibp2p } from "./types.ts";

/** Collaborators of the P2P service */
export interface P2PServiceComponents {
  log: Log;
  /** Messages to the main thread (fetch chunks, announcements) */
  post(msg: WorkerToMain, transfer?: Transferable[]): void;
}

/** A started P2P service: one method per request of the worker protocol */
export interface P2PService {
  readonly node: P2PLibp2p;
  readonly reputation: ReputationBook;
  readonly access: AccessGate;
  status(): NodeStatus;
  /** Prometheus text; empty unless started with `metrics` */
  metrics(): Promise<string>;
  peers(signal: AbortSignal): Promise<PeerSummary[]>;
  dial(address: string, signal: AbortSignal): Promise<void>;
  provide(sha256: string, signal: AbortSignal): Promise<void>;
  readonly providers: ProviderService;
  readonly records: RecordService;
  readonly catalog: CatalogService;
  readonly fetcher: FetchService;
  readonly metadata: MetadataService;
  readonly hygiene: RoutingHygiene;
  readonly slots: SlotKeeper;
  /** Stop everything this service started */
  stop(options?: { quick?: boolean }): Promise<void>;
}

/** Start the node and its services */
export async function startP2PService(
  components: P2PServiceComponents,
  init: WorkerStartInit,
): Promise<P2PService> {
  const { log, post } = components;
  // The worker's clock starts with the worker: this is how long loading its code took
  const loadedMs = performance.now();
  const cacheDir = join(init.home, "cache", "sha256");
  await Deno.mkdir(cacheDir, { recursive: true });
  const sources = new Map<string, DiscoverySource>();
  const counters: Counters = { bytesIn: 0, bytesOut: 0, served: 0, fetched: 0, judged: {}, gossip: {}, lookups: {} };
  let node: P2PLibp2p | undefined;
  const reputation = createReputationBook({
    log,
    hangUp: async (peerId) => void await node?.hangUp(peerIdFromString(peerId)),
    onJudge: (behaviour) => void (counters.judged[behaviour] = (counters.judged[behaviour] ?? 0) + 1),
  }, { file: join(init.home, "reputation.json") });
  await reputation.load();
  const bootstrapIds = new Set(
    init.bootstrap.filter(Boolean).flatMap((a) => multiaddr(a).getComponents().filter((c) => c.name === "p2p"))
      .map((c) => c.value ?? ""),
  );
  const slots = createSlotKeeper({
    node: () => node,
    // Bootstrap and allow-listed peers, and peers that served verified bytes, keep their slot
    isProtected: (p) => bootstrapIds.has(p) || init.allowPeers.includes(p) || reputation.score(p) > 0,
    log,
  }, { maxConnections: init.maxConnections });
  const access = createAccessGate({
    isBanned: (p) => reputation.isBanned(p),
    admit: (open, ip) => slots.admit(open, ip),
  }, init);
  const catalogDb: Catalog = openCatalog(join(init.home, "p2p.db"));
  // Prometheus (prom-client and libp2p's metrics) loads only for a daemon that serves metrics
  const metrics = init.metrics ? (await import("./metrics.ts")).createNodeMetrics() : undefined;
  const traffic = createTrafficCounter(metrics?.libp2p);
  const building = performance.now();
  try {
    node = await createNode({ access, reputation, log, sources, traffic }, init);
  } catch (err) {
    catalogDb.close();
    // libp2p's own message tells a library user to change its transport manager: say what to do
    if (err instanceof Error && err.name === "UnsupportedListenAddressesError") {
      throw new UnavailableError(
        `Cannot listen on ${init.listenAddrs.join(", ")}: the port is taken (another ggen daemon or program) or the ` +
          "address is not on this machine; choose another with --listen or [registry.p2p] listen_addrs (-v shows why)",
        { cause: err },
      );
    }
    throw err;
  }
  const started = node;
  const startedAt = Date.now();
  const reachability = createReachability();
  const builtMs = performance.now() - building;
  // Discovery dials not settled yet count against the limit: one DHT answer names up to 20 peers in
  // one tick, and counting open connections alone let a node for one command start all 20
  // handshakes at once (its download then waited ~350 ms behind them on a 25-daemon LAN)
  let discoveryDials = 0;
  started.addEventListener("peer:discovery", (evt) => {
    const peer = evt.detail.id;
    if (!sources.has(peer.toString())) sources.set(peer.toString(), "dht");
    // Discovery dials use no more than the inbound share: the rest is kept for bootstrap peers,
    // providers and DHT walks
    if (
      started.getConnections(peer).length === 0 && !reputation.isBanned(peer.toString()) &&
      started.getConnections().length + discoveryDials < (init.discoveryDialLimit ?? slots.maxInbound)
    ) {
      discoveryDials++;
      void started.dial(peer).catch((err) => {
        reachability.failed(peer.toString());
        log("debug", `dial ${peer} failed: ${(err as Error).message}`);
      }).finally(() => discoveryDials--);
    }
  });
  started.addEventListener("connection:open", (evt) => {
    slots.trim();
    const id = evt.detail.remotePeer.toString();
    reachability.reached(id);
    if (!sources.has(id)) sources.set(id, evt.detail.direction === "inbound" ? "inbound" : "dial");
  });
  // The bootstrap peers are dialled first: a command's node waits for one, and the services below
  // start (files read, protocols registered) while the handshake runs
  for (const addr of init.bootstrap.filter(Boolean)) {
    const id = multiaddr(addr).getComponents().find((c) => c.name === "p2p")?.value;
    if (id) sources.set(id, "bootstrap");
  }
  const bootstrapKeeper = createBootstrapKeeper({ node: started, log }, { addrs: init.bootstrap.filter(Boolean) });
  bootstrapKeeper.start();
  const servedBy = createServedBy({ log }, { file: join(init.home, "served-by.json") });
  await servedBy.load();
  const fetcher = createFetchService({
    node: started,
    reputation,
    log,
    counters,
    post,
    reachability,
    onServed: (sha, peer, addr) => servedBy.record(sha, peer, addr),
  }, {
    cacheDir,
    uploadLimit: init.uploadLimit ?? 0,
    downloadLimit: init.downloadLimit ?? 0,
  });
  const catalog = createCatalogService({
    node: started,
    catalog: catalogDb,
    reputation,
    log,
    counters,
    onAnnouncement: (announcement: Announcement, from: string) => post({ type: "announcement", announcement, from }),
  });
  const providers = createProviderService({ node: started, reputation, servedBy, reachability, log, counters }, {
    cacheDir,
    reprovideIntervalMs: init.reprovideIntervalMs,
  });
  const records = createRecordService({ node: started, reputation, log, counters });
  const metadata = createMetadataService({ node: started, log }, { dir: join(init.home, "metadata") });
  if (init.serveStore !== false) await fetcher.start();
  await catalog.start();
  await metadata.start();
  providers.start();
  const hygiene = createRoutingHygiene({ node: started, log }, {
    maxPerIp: init.maxRoutingEntriesPerIp ?? 4,
    sweepIntervalMs: init.routingSweepIntervalMs ?? 30_000,
  });
  hygiene.start();
  const status = (): NodeStatus => ({
    peerId: started.peerId.toString(),
    listenAddrs: started.getMultiaddrs().map((a) => a.toString()),
    peerCount: new Set(started.getConnections().map((c) => c.remotePeer.toString())).size,
    routingTableSize: started.services.dht.routingTable.size,
    providedPackages: providers.providedCount(),
    catalogSize: catalogDb.size(),
    uptimeMs: Date.now() - startedAt,
    inboundDenied: access.denied(),
    inboundPruned: slots.pruned(),
    routingEntriesRemoved: hygiene.removed(),
    bytesIn: counters.bytesIn,
    bytesOut: counters.bytesOut,
    network: traffic.totals(),
    uploadLimit: init.uploadLimit ?? 0,
    downloadLimit: init.downloadLimit ?? 0,
    routingBuckets: routingBuckets(started),
    memory: workerMemory(),
  });
  metrics?.bind({ status, counters, bannedCount: () => reputation.banned().length });
  log(
    "debug",
    `node ${started.peerId} listening on ${started.getMultiaddrs().join(", ")} (worker code loaded in ${
      loadedMs.toFixed(0)
    } ms, libp2p started in ${builtMs.toFixed(0)} ms, services in ${
      (performance.now() - loadedMs - builtMs).toFixed(0)
    } ms)`,
  );

  return {
    node: started,
    reputation,
    access,
    providers,
    records,
    catalog,
    fetcher,
    status,
    metrics: async () => metrics ? await metrics.render() : "",
    async peers(signal) {
      const byPeer = new Map<string, Connection>();
      for (const c of started.getConnections()) {
        if (!byPeer.has(c.remotePeer.toString())) byPeer.set(c.remotePeer.toString(), c);
      }
      return await Promise.all([...byPeer.entries()].map(async ([id, c]) => {
        let latencyMs: number | null = null;
        try {
          latencyMs = await started.services.ping.ping(c.remotePeer, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]),
          });
        } catch {
          // unreachable within a second: report no latency
        }
        return {
          peerId: id,
          address: c.remoteAddr.toString(),
          latencyMs,
          source: sources.get(id) ?? (c.direction === "inbound" ? "inbound" : "dial"),
          score: Math.round(reputation.score(id) * 10) / 10,
        };
      }));
    },
    async dial(address, signal) {
      await started.dial(multiaddr(address), { signal });
    },
    provide: (sha256, signal) => providers.provide(sha256, signal),
    hygiene,
    slots,
    metadata,
    async stop(options = {}) {
      const stopping = performance.now();
      bootstrapKeeper.stop();
      hygiene.stop();
      providers.stop();
      await Promise.all([servedBy.stop(), reputation.stop()]);
      // libp2p's orderly stop closes every connection and stream one by one (150-400 ms with a
      // few dozen peers); a node whose worker is terminated next leaves that to the sockets' close,
      // unless it announced something (gossipsub may still be sending it)
      const saved = performance.now();
      if (!options.quick || catalog.published()) await started.stop();
      log(
        "debug",
        `state saved in ${(saved - stopping).toFixed(0)} ms, libp2p stopped in ${
          (performance.now() - saved).toFixed(0)
        } ms`,
      );
      catalogDb.close();
    },
  };
}
