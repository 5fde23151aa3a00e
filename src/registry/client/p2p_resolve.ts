/**
 * Resolving a package id on the P2P network: the registry's re-shared signed document where its
 * key is pinned, else the publisher-signed versions in the connected peers' catalogs and the DHT
 * records (index and version records), with the peers that vouch for each version.
 * @module
 */
import * as semver from "semver";
import {
  type AbortOptions,
  DEFAULT_MIN_SOURCES,
  fromBase64,
  isValidVersion,
  type Logger,
  NotFoundError,
  type PackageInfo,
  type PackageVersion,
  parsePackageInfo,
  UnavailableError,
} from "../../core/mod.ts";
import {
  agreeOnVersion,
  indexKey,
  type IndexRecord,
  MAX_EXCLUDED_PROVIDERS,
  type P2PNode,
  recordName,
  recordSeq,
  type RecordValue,
  versionFromCatalogEntry,
  versionFromRecord,
  versionKey,
  type VersionRecord,
  type VouchedEntry,
} from "../../p2p/mod.ts";
import type { P2PRegistryInit } from "./p2p.ts";

/** Vouchers worth a provider lookup: the default min_sources */
const WANTED_VOUCHERS = DEFAULT_MIN_SOURCES;
/** Newest versions whose vouchers are completed with their providers */
const VOUCHED_VERSIONS = 3;
/** Catalog queries while a package's index is still looked up */
const CATALOG_ATTEMPTS = 3;
/** Between two of them: the index walk connects to more peers meanwhile */
const CATALOG_RETRY_MS = 250;

/** The signal of `options`, as a list for AbortSignal.any */
const signalOf = (options: AbortOptions): AbortSignal[] => options.signal ? [options.signal] : [];

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

/** What the P2P registry asks of a resolver */
export interface P2PResolver {
  /** Every version of `id` peers vouch for, or the registry's re-shared document */
  info(id: string, options?: AbortOptions): Promise<PackageInfo>;
  /**
   * Peers that, while `info` asked, answered from their own catalog that they announced the blob
   * `sha256`, or that the provider lookup for its vouchers found: claiming to hold it, so a
   * download can ask them before any DHT walk
   */
  holdersOf(sha256: string): string[];
}

/** How long a resolved document waits for the catalogs still answering (see holdersOf) */
const HOLDERS_WAIT_MS = 150;
/** Blobs whose catalog holders are remembered (one command resolves a handful) */
const MAX_HINTED_BLOBS = 1000;

/** Create the resolver of a P2P registry */
export function createP2PResolver(
  components: { node: P2PNode; log: Logger },
  init: Pick<P2PRegistryInit, "peerId" | "records" | "pinned" | "verifyRegistryDocument">,
): P2PResolver {
  const { node, log } = components;
  const holders = new Map<string, Set<string>>();
  const noteHolder = (sha256: string, peerId: string) => {
    if (peerId === init.peerId) return;
    if (holders.size >= MAX_HINTED_BLOBS) holders.clear();
    holders.set(sha256, (holders.get(sha256) ?? new Set()).add(peerId));
  };
  const noteHolders = (rows: VouchedEntry[]) => {
    for (const { entry, from, holders } of rows) {
      if (from.includes(entry.peer_id)) noteHolder(entry.sha256, entry.peer_id);
      for (const peer of holders ?? []) noteHolder(entry.sha256, peer);
    }
    return rows;
  };

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
    // The connected peers' catalogs are asked beside the registry document: every entry carries
    // the publisher's signed statement, so a version found there needs no DHT walk
    const asked = performance.now();
    const catalogsAsked = node.catalogVersions(id, options).then((rows) => {
      log.debug(`info ${id}: ${rows.length} catalog rows in ${(performance.now() - asked).toFixed(0)} ms`);
      return noteHolders(rows);
    }, () => []);
    // Where the registry's key is pinned, its signed document (kept by a peer that fetched from
    // central) is the authority: versions other keys sign never compete with it
    const authoritative = await registryDocument(id, options);
    if (authoritative) {
      // The catalogs name the connected peers that hold the bytes: worth a short wait, since the
      // download then skips its provider lookup
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([catalogsAsked, new Promise((r) => timer = setTimeout(r, HOLDERS_WAIT_MS))]);
      clearTimeout(timer);
      return authoritative;
    }
    const versions = new Map<string, PackageVersion>();
    const listed = new Set<string>();
    // Every signer's index counts: the DHT keeps the last PUT, and an attacker's index must not
    // hide the owner's versions (the trust policy decides between signers, not the DHT)
    const indexes: string[] = [];
    let indexDone = false;
    // The index is signed by the publisher: a package re-shared from central has none, and a
    // walk that finds nothing visits every peer, each visit a handshake. It starts only when the
    // connected peers' catalogs name no version (their answer comes first: 20-90 ms on a loaded
    // 25-daemon LAN, where a walk beside it made the median fresh install ~200 ms slower)
    // and it stops when info returns: a walk left running slows the fetch that follows
    const indexStop = new AbortController();
    const indexOptions = { ...options, signal: AbortSignal.any([indexStop.signal, ...signalOf(options)]) };
    let indexWalk: Promise<void> | undefined;
    const walkIndex = () =>
      indexWalk ??= newest(indexKey(id), indexOptions, undefined, indexes).then((index) => {
        if (index) indexes.push(index);
      }, () => {}).finally(() => indexDone = true);
    try {
      return await versionsOnNetwork();
    } finally {
      indexStop.abort();
    }
    async function versionsOnNetwork(): Promise<PackageInfo> {
      const vouchedBy = new Map<string, Set<string>>();
      const vouch = (version: string, peers: Iterable<string>) => {
        const set = vouchedBy.get(version) ?? new Set<string>();
        for (const p of peers) if (p !== init.peerId) set.add(p);
        vouchedBy.set(version, set);
      };
      const walked = new Set<string>();
      const walkVersions = async (list: string[]) => {
        const pending = list.filter((v) => !walked.has(v) && !versions.has(v));
        for (const v of pending) walked.add(v);
        // One walk per version, a few at a time
        const walk = async () => {
          for (let v = pending.shift(); v !== undefined; v = pending.shift()) {
            options.signal?.throwIfAborted();
            const version = v;
            const value = await newest(versionKey(id, version), options, id, undefined, (p) => vouch(version, p));
            if (value) versions.set(version, versionFromRecord(JSON.parse(value) as VersionRecord));
          }
        };
        await Promise.all(Array.from({ length: Math.min(4, pending.length) }, walk));
      };
      // A version whose catalog entries all carry one signed statement is taken as it is, vouched
      // for by the peers that returned it (as record holders vouch for a record); versions with
      // conflicting statements are left to the DHT walk and its agreement rule
      const takeCatalogs = (rows: VouchedEntry[]) => {
        const byVersion = Map.groupBy(rows.filter((r) => isValidVersion(r.entry.version)), (r) => r.entry.version);
        for (const [version, same] of byVersion) {
          if (same.length === 1) {
            if (!versions.has(version)) versions.set(version, versionFromCatalogEntry(same[0]!.entry));
            vouch(version, same[0]!.from);
          } else {
            listed.add(version);
          }
        }
      };
      takeCatalogs(await catalogsAsked);
      // While the index walk connects to more peers and finds nothing yet, the catalogs of the peers
      // connected by then are asked again (a few times, bounded)
      for (let attempt = 1; attempt < CATALOG_ATTEMPTS && versions.size + listed.size === 0 && !indexDone; attempt++) {
        await Promise.race([walkIndex(), new Promise((r) => setTimeout(r, CATALOG_RETRY_MS))]);
        if (indexDone) break;
        takeCatalogs(await node.catalogVersions(id, options).then(noteHolders, () => []));
      }
      if (listed.size > 0) await walkVersions([...listed]);
      if (versions.size === 0 || indexDone) await walkIndex();
      for (const value of new Set(indexes)) {
        for (const v of (JSON.parse(value) as IndexRecord).versions) {
          if (isValidVersion(v.version)) listed.add(v.version);
        }
      }
      await walkVersions([...listed]);
      log.debug(
        `info ${id}: index ${
          indexWalk
            ? indexDone ? "read" : "still looked up, not waited for"
            : "not looked up (the catalogs name versions)"
        }`,
      );
      if (versions.size === 0) throw await notFoundOnNetwork(`Package "${id}" not found on the P2P network`, options);
      const sorted = [...versions.values()].sort((a, b) => semver.compare(a.version, b.version));
      // A DHT walk stops at the first peers that hold a record, so few may have answered: the peers
      // providing exactly the bytes a version's signed record names vouch for it too (min_sources
      // counts distinct peers either way); asked for the newest versions that lack vouchers
      await Promise.all(
        sorted.slice(-VOUCHED_VERSIONS).map(async (v) => {
          const peers = vouchedBy.get(v.version) ?? new Set<string>();
          if (peers.size >= WANTED_VOUCHERS) return;
          // Only as many as are missing, leaving out the peers that vouched already: a lookup that
          // wants more providers than exist walks the whole network before it gives up
          const lookup = performance.now();
          const providers = await node.findProviders(v.sha256, {
            ...options,
            limit: WANTED_VOUCHERS - peers.size,
            exclude: [...peers].slice(0, MAX_EXCLUDED_PROVIDERS),
          }).catch(() => []);
          log.debug(
            `info ${id}@${v.version}: ${peers.size} vouchers, ${providers.length} more providers found in ${
              (performance.now() - lookup).toFixed(0)
            } ms`,
          );
          for (const p of providers) {
            if (p.peerId !== init.peerId) peers.add(p.peerId);
            noteHolder(v.sha256, p.peerId);
          }
          vouchedBy.set(v.version, peers);
        }),
      );
      const vouchers = Object.fromEntries([...vouchedBy].map(([version, peers]) => [version, peers.size]));
      const latest = sorted.at(-1)!;
      log.debug(`info ${id}: ${sorted.length} versions from peers' catalogs and DHT records`);
      return {
        ...parsePackageInfo({ id, name: latest.name, description: latest.description, versions: sorted }, id),
        source: "p2p",
        vouchers,
      };
    }
  };

  return { info, holdersOf: (sha256) => [...holders.get(sha256) ?? []] };
}
