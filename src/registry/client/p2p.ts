/**
 * The P2P network as a registry: metadata from DHT records and the catalog, bytes from
 * providers found in the DHT. Bytes are untrusted until the store verifies them; a provider
 * whose bytes are rejected is penalised and skipped.
 * @module
 */
import {
  type AbortOptions,
  DEFAULT_MAX_TARBALL_BYTES,
  IntegrityError,
  type Logger,
  MAX_PROVIDERS_PER_KEY,
  NotFoundError,
  type OpenOptions,
  type PackageInfo,
  type PackageVersion,
  type Registry,
  type SearchHit,
  type SearchQuery,
  type Signer,
  StallError,
  type TarballStream,
  TooLargeError,
  TrustError,
} from "../../core/mod.ts";
import {
  announcementOf,
  type Behaviour,
  indexKey,
  type IndexRecord,
  MAX_EXCLUDED_PROVIDERS,
  type P2PNode,
  type RankedPeer,
  type Reach,
  recordSeq,
  selfProvider,
  signedIndexRecord,
  versionKey,
  versionRecordOf,
} from "../../p2p/mod.ts";
import type { RecordCache } from "../../store/mod.ts";
import { multiSourceStream } from "./multi_source.ts";
import { createP2PResolver } from "./p2p_resolve.ts";

/** Blobs at least this large are fetched from several providers at once */
export const MULTI_SOURCE_MIN_BYTES = 4 * 1024 * 1024;
/** Most providers one multi-source download uses */
const MAX_SOURCES = 4;
/** Providers a lookup gathers for a blob one peer serves (the rest are failover) */
const SMALL_BLOB_PROVIDERS = 3;
/** Lookups of one download, each for providers not tried yet (bounds a network of liars) */
const LOOKUP_ROUNDS = 4;
/** How long a peer may take to start sending before the next candidate is asked too */
const HEDGE_MS = 250;

/** How a failed transfer reflects on the peer */
function behaviourOf(err: Error): Behaviour {
  if (err instanceof IntegrityError || err instanceof TooLargeError) return "wrong-bytes";
  if (err instanceof StallError) return "stall";
  return "failure";
}

/** The P2P registry */
export interface P2PRegistry extends Registry {
  /** The P2P node */
  readonly node: P2PNode;
  /** Provide, put the signed records and announce */
  publish(tarball: Uint8Array, version: PackageVersion, options?: P2PPublishOptions): Promise<PackageVersion>;
}

/** Options of {@link createP2PRegistry} */
export interface P2PRegistryInit {
  /** PeerId used as publisher in records */
  peerId: string;
  /** Abort a transfer when a provider sends nothing for this long */
  stallMs?: number;
  /** Ask the next candidate too when one has not started sending within this long. @default 250 */
  hedgeMs?: number;
  /** Newest record seen per key; without it nothing protects against replayed old records */
  records?: RecordCache;
  /** Publisher keys pinned for a package: they settle disagreements between peers */
  pinned?: (id: string) => string[];
  /** Largest package fetched from peers (`registry.p2p.max_package_bytes`). @default DEFAULT_MAX_TARBALL_BYTES */
  maxPackageBytes?: number;
  /** Blobs at least this large come from several providers at once. @default MULTI_SOURCE_MIN_BYTES */
  multiSourceMinBytes?: number;
  /**
   * Checks a registry-signed document that a peer re-shared against the pinned registry key
   * (throws when it does not verify). Set only when a registry key is pinned: such a document
   * is then the authority for its package, as central's answer would be.
   */
  verifyRegistryDocument?: (info: PackageInfo) => Promise<void>;
}

/** Options of a P2P publish */
export interface P2PPublishOptions extends AbortOptions {
  /** Signs the package's index record */
  signer?: Signer;
}

/**
 * `peers` as the node ranks them (connected first, lately unreachable last); unranked (a daemon
 * of an older version) they keep their order, reach unknown
 */
export async function rankedPeers(node: P2PNode, peers: string[], options: AbortOptions = {}): Promise<RankedPeer[]> {
  const asked = peers.slice(0, MAX_EXCLUDED_PROVIDERS);
  const unranked = asked.map((peerId): RankedPeer => ({ peerId, reach: "unknown" }));
  if (asked.length < 2) return unranked;
  const ranked = await node.rankPeers(asked, options).catch(() => unranked);
  // Only the peers asked about, each once, whatever the node answered
  const known = new Set(asked);
  const out = ranked.filter((p) => known.delete(p.peerId));
  return [...out, ...unranked.filter((p) => known.has(p.peerId))];
}

/**
 * How many of a small blob's holders, `first` ranked first, are asked at once. A stream to a
 * connected holder takes a few ms. Without one, the first two are asked together: a holder that
 * is gone without refusing (a sleeping or hung host) would hold the download for the whole hedge
 * delay, and the loser of the race costs one small blob at most
 */
function askedTogether(first: { reach?: Reach } | undefined): number {
  return first?.reach === "connected" ? 1 : 2;
}

/** Wrap a node as a registry */
export function createP2PRegistry(
  components: { logger: Logger; node: P2PNode },
  init: P2PRegistryInit,
): P2PRegistry {
  const { node } = components;
  const log = components.logger.child("p2p-registry");

  const resolver = createP2PResolver({ node, log }, init);

  /**
   * The first of `peers` that starts sending `version`, the first `together` of them asked at
   * once. Each attempt that has not answered within `hedgeMs` gets company from the next peer (a
   * dead or slow holder costs that long, not its dial or stall timeout), a failed one is replaced
   * at once; the first to answer wins and the others are cancelled. Bytes are verified by the
   * caller whichever peer sent them.
   */
  const fetchFromFirst = (
    peers: string[],
    version: PackageVersion,
    options: OpenOptions,
    errors: string[],
    together = 1,
    hedgeMs = init.hedgeMs ?? HEDGE_MS,
  ): Promise<TarballStream | undefined> => {
    const { promise, resolve, reject } = Promise.withResolvers<TarballStream | undefined>();
    const attempts = new Map<string, AbortController>();
    let next = 0;
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (fn: () => void) => {
      settled = true;
      clearTimeout(timer);
      for (const c of attempts.values()) c.abort(new DOMException("Another peer answered first", "AbortError"));
      fn();
    };
    const launch = (): void => {
      clearTimeout(timer);
      if (settled) return;
      if (next >= peers.length) {
        if (attempts.size === 0) settle(() => resolve(undefined));
        return;
      }
      const peer = peers[next++]!;
      const own = new AbortController();
      attempts.set(peer, own);
      timer = setTimeout(launch, hedgeMs);
      node.fetch(peer, version.sha256, {
        ...options,
        signal: options.signal ? AbortSignal.any([options.signal, own.signal]) : own.signal,
        ...(init.stallMs ? { stallMs: init.stallMs } : {}),
        expectedSize: version.size,
      }).then((body) => {
        attempts.delete(peer);
        if (settled) return void body.cancel().catch(() => {});
        settle(() =>
          resolve({
            body,
            source: `p2p:${peer}`,
            reject: (reason) => void node.penalize(peer, reason.message, behaviourOf(reason)).catch(() => {}),
            accept: () => void node.penalize(peer, "verified transfer", "verified-transfer").catch(() => {}),
          })
        );
      }, (err: Error) => {
        attempts.delete(peer);
        if (settled) return;
        if (options.signal?.aborted) return settle(() => reject(err));
        errors.push(`${peer}: ${err.message}`);
        log.debug(`provider ${peer} failed: ${err.message}`);
        void node.penalize(peer, err.message, behaviourOf(err)).catch(() => {});
        launch();
      });
    };
    for (let i = 0; i < together; i++) launch();
    return promise;
  };

  return {
    name: "p2p",
    node,
    async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
      const entries = await node.search(query.text, query.limit ?? 20, options);
      return entries.map((e) => ({
        id: e.package_id,
        name: e.name,
        version: e.version,
        description: e.description,
        tags: e.tags,
        source: "p2p",
      }));
    },
    info: resolver.info,
    async open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
      // The declared size is checked before any lookup: a record claiming 2^53 bytes costs nothing
      const cap = init.maxPackageBytes ?? DEFAULT_MAX_TARBALL_BYTES;
      if (version.size > cap) {
        throw new TooLargeError(
          `Refusing "${version.id}@${version.version}" from peers: ${version.size} bytes is over the ${cap}-byte ` +
            "limit (registry.p2p.max_package_bytes)",
        );
      }
      const large = version.size >= (init.multiSourceMinBytes ?? MULTI_SOURCE_MIN_BYTES);
      // Sources whose bytes were refused already: one peer each, or a multi-source attempt naming
      // several (its peers stay candidates: one at a time then finds the liar)
      const refused = [...options.exclude ?? []].filter((s) => s.startsWith("p2p:"));
      const multiFailed = refused.some((s) => s.includes(","));
      const rejected = refused.filter((s) => !s.includes(",")).map((s) => s.slice(4));
      const errors: string[] = [];
      // A small blob's holders met while resolving (connected peers whose own catalog announced it)
      // are asked before any lookup; the bytes are verified like any provider's
      const met = large ? [] : resolver.holdersOf(version.sha256).filter((p) => !options.exclude?.has(`p2p:${p}`));
      const ranked = (await rankedPeers(node, met, options)).slice(0, SMALL_BLOB_PROVIDERS);
      const hinted = ranked.map((p) => p.peerId);
      const hintedAt = performance.now();
      const fromHint = await fetchFromFirst(hinted, version, options, errors, askedTogether(ranked[0]));
      log.debug(
        `${version.id}@${version.version}: ${hinted.length} holders met while resolving, ${
          fromHint ? "one sent" : "none sent"
        } in ${(performance.now() - hintedAt).toFixed(0)} ms`,
      );
      if (fromHint) return fromHint;
      // Many candidates: under a Sybil attack most of a handful may be liars
      // A small blob comes from one peer: a few candidates (for failover) end the lookup early;
      // a large one is split over several, so the lookup gathers more. Peers refused or tried
      // already are left out of each lookup (and its count), so liars cannot fill it
      const tried = new Set([...rejected, ...hinted]);
      /** Providers not tried yet, in the order the node ranks them */
      const lookUp = async () => {
        const providers = await node.findProviders(version.sha256, {
          ...(options.signal ? { signal: options.signal } : {}),
          limit: large ? MAX_PROVIDERS_PER_KEY : SMALL_BLOB_PROVIDERS,
          exclude: [...tried].slice(0, MAX_EXCLUDED_PROVIDERS),
        });
        const fresh = providers.filter((p) => !tried.has(p.peerId));
        for (const p of fresh) tried.add(p.peerId);
        return fresh;
      };
      let found = await lookUp();
      // Several providers and a large blob: download pieces from several at once, unless a
      // multi-source attempt already failed verification (then one at a time finds the liar)
      if (found.length >= 2 && large && !multiFailed) {
        const peers = found.slice(0, MAX_SOURCES).map((p) => p.peerId);
        const { body, served } = multiSourceStream({ node, logger: log }, {
          sha256: version.sha256,
          size: version.size,
          peers,
          ...(init.stallMs ? { stallMs: init.stallMs } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          onPeerFailure: (peer, err) => void node.penalize(peer, err.message, behaviourOf(err)).catch(() => {}),
        });
        return {
          body,
          source: `p2p:${peers.join(",")}`,
          // Which piece was wrong is unknown: nobody is blamed, the retry goes one source at a time
          reject: (reason) => log.warn(`A multi-source download of ${version.sha256} failed: ${reason.message}`),
          accept: () => {
            const spread = [...served].filter(([, n]) => n > 0);
            log.debug(`${version.id}@${version.version} from ${spread.map(([p, n]) => `${p} ${n} B`).join(", ")}`);
            for (const [peer] of spread) {
              void node.penalize(peer, "verified transfer", "verified-transfer").catch(() => {});
            }
          },
        };
      }
      // One at a time; when every candidate failed before sending (gone, lying about the size),
      // a few more are looked up, leaving out all tried so far
      for (let round = 0; round < LOOKUP_ROUNDS && found.length > 0; round++) {
        if (round > 0) found = await lookUp();
        const peers = found.map((p) => p.peerId);
        const fromProvider = await fetchFromFirst(peers, version, options, errors, large ? 1 : askedTogether(found[0]));
        if (fromProvider) return fromProvider;
      }
      throw new NotFoundError(
        errors.length
          ? `Cannot fetch "${version.id}@${version.version}" from any provider: ${errors.join("; ")}`
          : `Cannot fetch "${version.id}@${version.version}": no ${
            tried.size ? "other " : ""
          }peer provides sha256 ${version.sha256}`,
      );
    },
    async publish(
      tarball: Uint8Array,
      version: PackageVersion,
      options: P2PPublishOptions = {},
    ): Promise<PackageVersion> {
      void tarball; // the caller stored it; the node serves it from the store
      if (!options.signer || !version.signature) {
        throw new TrustError(`Cannot publish "${version.id}@${version.version}" to peers: records must be signed`);
      }
      const timestamp = Date.now();
      await node.provide(version.sha256, options);
      const { listenAddrs } = await node.status(options);
      await node.putRecord(
        versionKey(version.id, version.version),
        JSON.stringify(versionRecordOf(version, init.peerId, timestamp, selfProvider(init.peerId, listenAddrs))),
        options,
      );
      // The index a publisher signs lists only versions signed by its own key: an index put by
      // someone else (the newest the DHT holds may be an attacker's) never launders into ours
      // (the high-water mark is per signer: our newest index, not the newest index)
      const known = new Map<string, string>();
      // Our own newest index is also kept locally, under a key per signer: the DHT may hold only
      // someone else's last PUT
      const ownKey = `${indexKey(version.id)}#${version.publisher_key}`;
      const indexes = [
        ...(await node.getRecords(indexKey(version.id), options).catch(() => [])).map((r) => r.value),
        ...(init.records?.get(indexKey(version.id))?.value ? [init.records.get(indexKey(version.id))!.value] : []),
        ...(init.records?.get(ownKey)?.value ? [init.records.get(ownKey)!.value] : []),
      ].map((v) => JSON.parse(v) as IndexRecord);
      const own = indexes.filter((r) => r.publisher_key === version.publisher_key)
        .sort((x, y) => recordSeq(y) - recordSeq(x))[0];
      if (indexes.some((r) => r.publisher_key !== version.publisher_key)) {
        log.warn(`Another key also signs an index of "${version.id}" on the network; yours lists only your versions`);
      }
      for (const v of own?.versions ?? []) known.set(v.version, v.sha256);
      known.set(version.version, version.sha256);
      const versionsList = [...known.entries()].map(([v, sha256]) => ({ version: v, sha256 })).slice(-200);
      const index = JSON.stringify(
        await signedIndexRecord(version.id, versionsList, init.peerId, options.signer, timestamp),
      );
      await node.putRecord(indexKey(version.id), index, options);
      await init.records?.offer(indexKey(version.id), timestamp, index);
      await init.records?.offer(ownKey, timestamp, index);
      await node.announce(announcementOf(version, init.peerId, timestamp), options);
      return version;
    },
  };
}
