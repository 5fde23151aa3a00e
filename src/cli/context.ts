/**
 * What every command gets: resolved config, logger, output, cache, the cancellation signal and
 * lazily built registries and P2P node (the daemon's when one runs, else a short-lived one).
 * @module
 */
import { join } from "node:path";
import { parseIP } from "@chainsafe/is-ip/parse";
import { dropWorkerAhead, type Logger, type PackageVersion, type Registry, SECOND } from "../core/mod.ts";
import {
  announcementOf,
  asDaemonClient,
  connectDaemon,
  type P2PNode,
  runInBackground,
  selfProvider,
  startWorkerNode,
  versionKey,
  versionRecordOf,
  waitForPeers,
} from "../p2p/mod.ts";
import { workerInit } from "./node_init.ts";
import { backendHealthFile } from "./backend_health.ts";
import {
  type AddressBook,
  type CentralRegistry,
  createCacheRegistry,
  createCentralRegistry,
  createHybridRegistry,
  createP2PRegistry,
  createStaticIndexRegistry,
  type HybridEvent,
  isStaticIndexUrl,
  type P2PRegistry,
} from "../registry/client/mod.ts";
import {
  createPackageCache,
  type Lockfile,
  type MetadataCache,
  openMetadataCache,
  openRecordCache,
  type PackageCache,
  projectRoot,
  readLockfile,
} from "../store/mod.ts";
import type { Config } from "./config.ts";
import { openTrustStore, type TrustStore, verifyMetadata } from "../trust/mod.ts";
import type { Output } from "./output.ts";

/** How long a short-lived node waits for its first peers */
const PEER_WAIT_MS = 3 * SECOND;
/** The per-run context of a command */
export interface Context {
  config: Readonly<Config>;
  logger: Logger;
  out: Output;
  cache: PackageCache;
  /** Central's signed package documents kept on disk (`$GGEN_HOME/metadata`) */
  metadata: MetadataCache;
  /** Aborted on SIGINT */
  signal: AbortSignal;
  central(): CentralRegistry;
  /** The daemon's node, or a short-lived one stopped by {@link close} */
  p2p(): Promise<{ node: P2PNode; peerId: string }>;
  p2pRegistry(): Promise<P2PRegistry>;
  /** The registry for the configured mode */
  registry(): Promise<Registry>;
  /** Called after packages were fetched (hybrid mode provides them to peers) */
  afterFetch?(versions: PackageVersion[]): Promise<void>;
  /**
   * The command needs nothing more from peers: a node started for it stops now, beside the work
   * that remains (unpacking, the lock); {@link close} waits for that stop
   */
  networkDone(): void;
  /** Release what the context started */
  close(): Promise<void>;
}

/** Where central's host names last resolved, in `$GGEN_HOME/central-addresses.json` (best effort) */
function addressBookFile(home: string): AddressBook {
  const path = join(home, "central-addresses.json");
  let known: Record<string, string> | undefined;
  const load = () => {
    if (known) return known;
    try {
      const data = JSON.parse(Deno.readTextFileSync(path)) as Record<string, unknown>;
      known = Object.fromEntries(
        Object.entries(data).filter((e): e is [string, string] =>
          typeof e[1] === "string" && parseIP(e[1]) !== undefined
        ),
      );
    } catch {
      known = {};
    }
    return known;
  };
  return {
    get: (host) => load()[host],
    remember(host, address) {
      const book = load();
      if (book[host] === address) return;
      book[host] = address;
      try {
        const tmp = `${path}.tmp-${crypto.randomUUID()}`;
        Deno.writeTextFileSync(tmp, JSON.stringify(book));
        Deno.renameSync(tmp, path);
      } catch {
        // a read-only home only loses the DNS-failure retry
      }
    },
  };
}

/**
 * The registry's key: configured (`[registry] public_key`), else pinned in the trust store by an
 * earlier central contact, else recorded in the project's ggen.lock; undefined before any of them
 */
export function registryKeyOf(config: Readonly<Config>, trust: TrustStore, lock?: Lockfile): string | undefined {
  return config.registry.publicKey ?? trust.registryKey() ?? lock?.registry?.public_key;
}

/** The configured central source: a registry's API, or a static index.json on a web server */
function centralSourceOf(config: Readonly<Config>, logger: Logger): CentralRegistry {
  const source = {
    url: config.registry.centralUrl,
    timeoutMs: config.registry.timeoutMs,
    addresses: addressBookFile(config.home),
  };
  // A URL ending in .json is a static index: read-only, and never sent the token
  if (isStaticIndexUrl(source.url)) {
    return createStaticIndexRegistry({ logger }, { ...source, namespace: config.registry.namespace });
  }
  return createCentralRegistry({ logger }, {
    ...source,
    ...(config.registry.token ? { token: config.registry.token } : {}),
  });
}

/** Build the context; registries and the node are created on first use */
export function createContext(
  init: { config: Readonly<Config>; logger: Logger; out: Output; signal: AbortSignal },
): Context {
  const { config, logger } = init;
  let central: CentralRegistry | undefined;
  let p2p: Promise<{ node: P2PNode; peerId: string }> | undefined;
  let p2pRegistry: Promise<P2PRegistry> | undefined;
  let registry: Promise<Registry> | undefined;

  // This home's daemon, looked up once per command (the node, event reports and sharing use it)
  let daemonLookup: Promise<P2PNode | undefined> | undefined;
  const ownDaemon = () => daemonLookup ??= connectDaemon(config.home, logger);

  const startP2P = async (): Promise<{ node: P2PNode; peerId: string }> => {
    const daemon = await ownDaemon();
    if (daemon) return { node: daemon, peerId: (await daemon.status()).peerId };
    logger.debug("no P2P daemon running: starting a short-lived node");
    const node = await startWorkerNode(
      { logger },
      await workerInit(config, { reprovideIntervalMs: 0, shortLived: true }),
    );
    if (config.p2p.bootstrap.length > 0 || config.p2p.mdns) {
      const peers = await waitForPeers(node, 1, PEER_WAIT_MS, init.signal);
      logger.debug(`short-lived node ${node.peerId} has ${peers} peers`);
    }
    return { node, peerId: node.peerId };
  };

  // The node started for this command, stopped once (networkDone or close, whichever comes first)
  let stopping: { of: Promise<{ node: P2PNode; peerId: string }>; done: Promise<void> } | undefined;
  const stopNode = (): Promise<void> => {
    if (!p2p) return Promise.resolve();
    if (stopping?.of !== p2p) {
      const of = p2p;
      stopping = {
        of,
        done: (async () => {
          const started = await of.catch(() => undefined);
          const begun = performance.now();
          // A short-lived node ends with the command: its worker is terminated right after
          await started?.node.stop({ quick: started.node.kind === "worker" });
          if (started) logger.debug(`P2P node stopped in ${(performance.now() - begun).toFixed(0)} ms`);
        })(),
      };
    }
    return stopping.done;
  };

  // Fallbacks are shown on the dashboard of this home's daemon, if one runs (best effort, bounded)
  const reports = new Set<Promise<void>>();
  const report = (e: HybridEvent) => {
    const sent: Promise<void> = ownDaemon().catch(() => undefined)
      .then((d) => asDaemonClient(d)?.reportEvent(e, { signal: AbortSignal.timeout(1000) }))
      .catch((err) => logger.debug(`event not reported to the daemon: ${(err as Error).message}`))
      .finally(() => reports.delete(sent));
    reports.add(sent);
  };

  const ctx: Context = {
    ...init,
    cache: createPackageCache({ logger }, { home: config.home }),
    metadata: openMetadataCache({ home: config.home }),
    central() {
      central ??= centralSourceOf(config, logger);
      return central;
    },
    p2p() {
      p2p ??= startP2P();
      return p2p;
    },
    p2pRegistry() {
      p2pRegistry ??= ctx.p2p().then(async ({ node, peerId }) => {
        const trust = await openTrustStore(config.home);
        // A pinned (or configured) registry key makes re-shared registry documents authoritative
        const registryKey = registryKeyOf(config, trust, await readLockfile(projectRoot()).catch(() => undefined));
        return createP2PRegistry({ logger, node }, {
          peerId,
          records: await openRecordCache(config.home),
          pinned: (id) => trust.pinned(id),
          ...(registryKey
            ? {
              verifyRegistryDocument: (info) => verifyMetadata(info, trust, { configuredKey: registryKey, logger }),
            }
            : {}),
          maxPackageBytes: config.p2p.maxPackageBytes,
        });
      });
      return p2pRegistry;
    },
    registry() {
      registry ??= (async () => {
        const mode = config.registry.mode;
        const network = config.registry.network;
        logger.debug(`registry mode: ${mode}, network: ${network}`);
        // The caches answer with the network untouched (--offline), first (--prefer-offline), or
        // after central in hybrid mode, so central being down does not lose what was fetched before
        const cached = createCacheRegistry({ metadata: ctx.metadata, cache: ctx.cache });
        if (network === "offline") return cached;
        const first = network === "prefer-offline" ? [cached] : [];
        if (mode === "central") {
          return first.length ? createHybridRegistry({ logger, backends: [cached, ctx.central()] }) : ctx.central();
        }
        if (mode === "p2p") {
          const p2pOnly = await ctx.p2pRegistry();
          return first.length ? createHybridRegistry({ logger, backends: [cached, p2pOnly] }) : p2pOnly;
        }
        // Hybrid: the P2P node starts only if central fails
        const lazyP2P: Registry = {
          name: "p2p",
          search: async (q, o) => (await ctx.p2pRegistry()).search(q, o),
          info: async (id, o) => (await ctx.p2pRegistry()).info(id, o),
          open: async (v, o) => (await ctx.p2pRegistry()).open(v, o),
        };
        const backends = [
          ...first,
          ctx.central(),
          ...(first.length ? [] : [cached]),
          ...(config.p2p.enabled ? [lazyP2P] : []),
        ];
        const health = backendHealthFile(config.home);
        const hybrid = createHybridRegistry({ logger, backends }, { health, onEvent: report });
        if (mode !== "p2p-first" || !config.p2p.enabled) return hybrid;
        // P2P first (offices, CI farms): metadata as in hybrid mode (central's signed answer is small
        // and authoritative), bytes from LAN peers first and from central only when no peer has them
        const bytesFirst = createHybridRegistry({ logger, backends: [...first, lazyP2P, ctx.central()] }, { health });
        return { name: "p2p-first", search: hybrid.search, info: hybrid.info, open: bytesFirst.open };
      })();
      return registry;
    },
    async afterFetch(versions) {
      const sharing = config.registry.mode === "hybrid" || config.registry.mode === "p2p-first";
      if (!sharing || !config.p2p.enabled || config.registry.network === "offline") return;
      // Share what we fetched with the LAN, but only through a running daemon
      const daemon = p2p ? (await p2p).node : await ownDaemon();
      if (daemon?.kind !== "daemon") return;
      const { peerId, listenAddrs } = await daemon.status();
      // The daemon answers at once and walks the DHT on its own: the command does not wait for it
      const hand = (what: string, call: Promise<void>) =>
        call.catch((err) => logger.debug(`share ${what}: ${(err as Error).message}`));
      // One version's calls are handed over together (each is a round trip to the daemon); the
      // versions one after the other, within the daemon's bound on background calls
      for (const v of versions) {
        const what = `${v.id}@${v.version}`;
        const calls = [runInBackground(daemon, "provide", { sha256: v.sha256 })];
        // Re-share what the publisher signed, so peers can resolve id -> version -> sha256 when
        // central is gone: the version record and a catalog announcement, both verifiable by
        // anyone against the publisher's key (the daemon signs nothing itself)
        if (v.signature && v.publisher_key) {
          const record = versionRecordOf(v, peerId, Date.now(), selfProvider(peerId, listenAddrs));
          calls.push(
            runInBackground(daemon, "putRecord", { key: versionKey(v.id, v.version), value: JSON.stringify(record) }),
            runInBackground(daemon, "announce", { announcement: announcementOf(v, peerId) }),
          );
        }
        await Promise.all(calls.map((call) => hand(what, call)));
      }
    },
    networkDone() {
      void stopNode().catch((err) => logger.debug(`stopping the P2P node: ${(err as Error).message}`));
    },
    async close() {
      // A worker that loaded ahead for a node this command did not need
      dropWorkerAhead();
      await Promise.all(reports);
      await stopNode();
    },
  };
  return ctx;
}
