/**
 * The P2P network as a registry: metadata from DHT records and the catalog, bytes from
 * providers found in the DHT. Bytes are untrusted until the store verifies them; a provider
 * whose bytes are rejected is penalised and skipped.
 * @module
 */
import { DEFAULT_MAX_TARBALL_BYTES, isValidVersion, parsePackageInfo } from "../../core/mod.ts";
import * as semver from "semver";
import {
  type AbortOptions,
  fromBase64,
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
  UnavailableError,
} from "../../core/mod.ts";
import {
  agreeOnVersion,
  announcementOf,
  type Behaviour,
  indexKey,
  type IndexRecord,
  type P2PNode,
  recordName,
  recordSeq,
  type RecordValue,
  selfProvider,
  signedIndexRecord,
  versionFromRecord,
  versionKey,
  type VersionRecord,
  versionRecordOf,
} from "../../p2p/mod.ts";
import type { RecordCache } from "../../store/mod.ts";
import { multiSourceStream } from "./multi_source.ts";

/** Vouchers worth a provider lookup: the default min_sources */
const WANTED_VOUCHERS = 3;
/** Newest versions whose vouchers are completed with their providers */
const VOUCHED_VERSIONS = 3;

/** Blobs at least this large are fetched from several providers at once */
export const MULTI_SOURCE_MIN_BYTES = 4 * 1024 * 1024;
/** Most providers one multi-source download uses */
const MAX_SOURCES = 4;
/** Catalog searches while a package's index is still looked up */
const CATALOG_ATTEMPTS = 3;
/** Between two of them: the index walk connects to more peers meanwhile */
const CATALOG_RETRY_MS = 250;
/** Providers a lookup gathers for a blob one peer serves (the rest are failover) */
const SMALL_BLOB_PROVIDERS = 3;

/** The registry's signed seq of a document (read, not verified: the order of candidates only) */
function signedSeq(info: PackageInfo): number {
  try {
    const payload = info.metadata_signature?.payload ?? "";
    const statement = JSON.parse(new TextDecoder().decode(fromBase64(payload))) as { seq?: unknown };
    return typeof statement.seq === "number" ? statement.seq : -1;
  } catch {
    return -1;
  }
}

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

/** Wrap a node as a registry */
export function createP2PRegistry(
  components: { logger: Logger; node: P2PNode },
  init: P2PRegistryInit,
): P2PRegistry {
  const { node } = components;
  const log = components.logger.child("p2p-registry");

  /**
   * The newest verified value of a key: the worker returns values verified and newest first; the
   * high-water record wins over anything older, so a replayed old record never reaches the caller
   */
  const newest = async (
    key: string,
    options: AbortOptions,
    agreeFor?: string,
    seen?: string[],
    vouched?: (peers: Set<string>) => void,
  ): Promise<string | undefined> => {
    let values: RecordValue[];
    try {
      values = await node.getRecords(key, options);
      seen?.push(...values.map((v) => v.value));
    } catch (err) {
      // The DHT could not be asked: a record seen before still answers, else say so
      const kept = init.records?.get(key);
      if (err instanceof UnavailableError && kept) {
        log.debug(`${recordName(key)}: ${err.message}; using the record seen before`);
        return kept.value;
      }
      throw err;
    }
    const best = agreeFor ? agreeOnVersion(key, values, init.pinned?.(agreeFor) ?? [])?.value : values[0]?.value;
    // Who vouches for the chosen value: distinct peers that returned it, this node not counted
    const vouchers = new Set(values.filter((v) => v.value === best).flatMap((v) => v.from));
    vouchers.delete(init.peerId);
    if (best) vouched?.(vouchers);
    const kept = init.records?.get(key);
    const seq = best ? recordSeq(JSON.parse(best) as VersionRecord | IndexRecord) : -1;
    if (kept && kept.seq > seq) {
      if (best) {
        log.warn(
          `Ignored ${values.length} stale record(s) for ${recordName(key)}: seq ${seq} < ${kept.seq} seen before`,
        );
      }
      return kept.value;
    }
    if (best) await init.records?.offer(key, seq, best);
    return best;
  };

  /**
   * "Not found" only means something when someone was asked: with no peer at all the network is
   * unavailable (an eclipse or an empty LAN), and the message says how many peers were reachable
   */
  const notFoundOnNetwork = async (message: string, options: AbortOptions): Promise<Error> => {
    const status = await node.status(options).catch(() => undefined);
    if (!status || status.peerCount === 0) {
      return new UnavailableError(
        `${message}: could not connect to any peer. Add a bootstrap peer (--bootstrap /ip4/…/tcp/…/p2p/<id>, ` +
          "GGEN_BOOTSTRAP or [[registry.p2p.bootstrap]]) or check that a daemon runs on the LAN",
      );
    }
    // Silent peers (an eclipse) look like "not found": say how many of the connected ones answer at all
    const peers = await node.peers(options).catch(() => []);
    const answering = peers.filter((p) => p.latencyMs !== null).length;
    return new NotFoundError(
      `${message}: asked ${status.peerCount} connected peers (${answering} answer, ${
        peers.length - answering
      } silent) and ${status.routingTableSize} in the routing table; none had it. If it should be on your LAN, add a ` +
        "bootstrap peer you trust (--bootstrap /ip4/…/tcp/…/p2p/<id>)",
    );
  };

  /** The newest re-shared registry document of `id` that verifies, if any peer keeps one */
  const registryDocument = async (id: string, options: AbortOptions): Promise<PackageInfo | undefined> => {
    const verify = init.verifyRegistryDocument;
    if (!verify) return undefined;
    const shared = await node.getMetadata(id, options).catch(() => []);
    const parsed = shared.flatMap((d) => {
      try {
        const doc: PackageInfo = { ...parsePackageInfo(JSON.parse(d.document), id), source: "cache" };
        return [{ doc, from: d.from, seq: signedSeq(doc) }];
      } catch (err) {
        void node.penalize(d.from, `registry document of ${id}: ${(err as Error).message}`, "invalid-record")
          .catch(() => {});
        return [];
      }
    });
    for (const { doc, from } of parsed.sort((a, b) => b.seq - a.seq)) {
      try {
        await verify(doc);
        log.info(`"${id}": the registry's signed document, re-shared by peer ${from}`);
        return doc;
      } catch (err) {
        log.debug(`registry document of ${id} from ${from} refused: ${(err as Error).message}`);
        await node.penalize(from, `registry document of ${id}: ${(err as Error).message}`, "invalid-record")
          .catch(() => {});
      }
    }
    return undefined;
  };

  const info = async (id: string, options: AbortOptions = {}): Promise<PackageInfo> => {
    // Where the registry's key is pinned, its signed document (kept by a peer that fetched from
    // central) is the authority: versions other keys sign never compete with it
    const authoritative = await registryDocument(id, options);
    if (authoritative) return authoritative;
    const versions = new Map<string, PackageVersion>();
    const listed = new Set<string>();
    // Every signer's index counts: the DHT keeps the last PUT, and an attacker's index must not
    // hide the owner's versions (the trust policy decides between signers, not the DHT)
    const indexes: string[] = [];
    let indexDone = false;
    // The index is signed by the publisher: a package re-shared from central has none, and a
    // walk that finds nothing visits every peer. It runs beside everything else and is waited
    // for only while versions named by the catalog are still being looked up
    const indexWalk = newest(indexKey(id), options, undefined, indexes).then((index) => {
      if (index) indexes.push(index);
    }, () => {}).finally(() => indexDone = true);
    const vouchedBy = new Map<string, Set<string>>();
    const walked = new Set<string>();
    const walkVersions = async (list: string[]) => {
      const pending = list.filter((v) => !walked.has(v));
      for (const v of pending) walked.add(v);
      // One walk per version, a few at a time
      const walk = async () => {
        for (let v = pending.shift(); v !== undefined; v = pending.shift()) {
          options.signal?.throwIfAborted();
          const version = v;
          const value = await newest(versionKey(id, version), options, id, undefined, (p) => vouchedBy.set(version, p));
          if (value) versions.set(version, versionFromRecord(JSON.parse(value) as VersionRecord));
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, pending.length) }, walk));
    };
    // The catalogs of the peers connected now; while the index walk connects to more peers and
    // finds nothing yet, theirs are asked again (a few times, bounded)
    for (let attempt = 0; attempt < CATALOG_ATTEMPTS && listed.size === 0 && !indexDone; attempt++) {
      if (attempt > 0) await Promise.race([indexWalk, new Promise((r) => setTimeout(r, CATALOG_RETRY_MS))]);
      if (indexDone) break;
      for (const e of await node.search(id, 50, options)) {
        // Catalog answers are peers' words: only a real version may become a DHT key
        if (e.package_id === id && isValidVersion(e.version)) listed.add(e.version);
      }
    }
    if (listed.size > 0) await walkVersions([...listed]);
    if (listed.size === 0 || indexDone) await indexWalk;
    for (const value of new Set(indexes)) {
      for (const v of (JSON.parse(value) as IndexRecord).versions) if (isValidVersion(v.version)) listed.add(v.version);
    }
    await walkVersions([...listed]);
    log.debug(`info ${id}: index ${indexDone ? "read" : "still looked up, not waited for"}`);
    if (versions.size === 0) throw await notFoundOnNetwork(`Package "${id}" not found on the P2P network`, options);
    const sorted = [...versions.values()].sort((a, b) => semver.compare(a.version, b.version));
    // A DHT walk stops at the first peers that hold a record, so few may have answered: the peers
    // providing exactly the bytes a version's signed record names vouch for it too (min_sources
    // counts distinct peers either way); asked for the newest versions that lack vouchers
    await Promise.all(
      sorted.slice(-VOUCHED_VERSIONS).map(async (v) => {
        const peers = vouchedBy.get(v.version) ?? new Set<string>();
        if (peers.size >= WANTED_VOUCHERS) return;
        const providers = await node.findProviders(v.sha256, { ...options, limit: WANTED_VOUCHERS + 1 }).catch(
          () => [],
        );
        for (const p of providers) if (p.peerId !== init.peerId) peers.add(p.peerId);
        vouchedBy.set(v.version, peers);
      }),
    );
    const vouchers = Object.fromEntries([...vouchedBy].map(([version, peers]) => [version, peers.size]));
    const latest = sorted.at(-1)!;
    log.debug(`info ${id}: ${sorted.length} versions from DHT records`);
    return {
      ...parsePackageInfo({ id, name: latest.name, description: latest.description, versions: sorted }, id),
      source: "p2p",
      vouchers,
    };
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
    info,
    async open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
      // The declared size is checked before any lookup: a record claiming 2^53 bytes costs nothing
      const cap = init.maxPackageBytes ?? DEFAULT_MAX_TARBALL_BYTES;
      if (version.size > cap) {
        throw new TooLargeError(
          `Refusing "${version.id}@${version.version}" from peers: ${version.size} bytes is over the ${cap}-byte ` +
            "limit (registry.p2p.max_package_bytes)",
        );
      }
      // Many candidates: under a Sybil attack most of a handful may be liars
      // A small blob comes from one peer: a few candidates (for failover) end the lookup early;
      // a large one is split over several, so the lookup gathers more
      // (each retry after bad bytes asks for as many more as were excluded, so liars cannot fill it)
      const large = version.size >= (init.multiSourceMinBytes ?? MULTI_SOURCE_MIN_BYTES);
      const excluded = [...options.exclude ?? []].filter((s) => s.startsWith("p2p:")).length;
      const providers = await node.findProviders(version.sha256, {
        ...options,
        limit: large ? MAX_PROVIDERS_PER_KEY : Math.min(MAX_PROVIDERS_PER_KEY, SMALL_BLOB_PROVIDERS + excluded),
      });
      const candidates = providers.filter((p) => !options.exclude?.has(`p2p:${p.peerId}`));
      // Several providers and a large blob: download pieces from several at once, unless a
      // multi-source attempt already failed verification (then one at a time finds the liar)
      const multiFailed = [...options.exclude ?? []].some((s) => s.startsWith("p2p:") && s.includes(","));
      if (
        candidates.length >= 2 && version.size >= (init.multiSourceMinBytes ?? MULTI_SOURCE_MIN_BYTES) && !multiFailed
      ) {
        const peers = candidates.slice(0, MAX_SOURCES).map((p) => p.peerId);
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
      if (candidates.length === 0) {
        throw new NotFoundError(
          `Cannot fetch "${version.id}@${version.version}": no ${
            providers.length ? "other " : ""
          }peer provides sha256 ${version.sha256}`,
        );
      }
      const errors: string[] = [];
      for (const p of candidates) {
        try {
          const body = await node.fetch(p.peerId, version.sha256, {
            ...options,
            ...(init.stallMs ? { stallMs: init.stallMs } : {}),
            expectedSize: version.size,
          });
          return {
            body,
            source: `p2p:${p.peerId}`,
            reject: (reason) => void node.penalize(p.peerId, reason.message, behaviourOf(reason)).catch(() => {}),
            accept: () => void node.penalize(p.peerId, "verified transfer", "verified-transfer").catch(() => {}),
          };
        } catch (err) {
          if (options.signal?.aborted) throw err;
          errors.push(`${p.peerId}: ${(err as Error).message}`);
          log.debug(`provider ${p.peerId} failed: ${(err as Error).message}`);
          await node.penalize(p.peerId, (err as Error).message, behaviourOf(err as Error)).catch(() => {});
        }
      }
      throw new NotFoundError(
        `Cannot fetch "${version.id}@${version.version}" from any provider: ${errors.join("; ")}`,
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
