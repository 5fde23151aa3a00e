/**
 * Provider records: providing what the local store holds (at start and on an interval, under a
 * shutdown signal), and provider lookups that resist floods (per-responder quota, flooders
 * banned and the lookup repeated) and stop once one provider is known and the budget is spent.
 * @module
 */
import { FETCH_PROTOCOL, isSha256Hex, MAX_PROVIDERS_PER_KEY } from "../../src/core/mod.ts";
import type { FetchRequest, FetchResponseHeader, ProviderInfo, RankedPeer, Reach } from "../../src/p2p/mod.ts";
import type { PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { exchange } from "./streams.ts";
import { cidFromSha256 } from "./cid.ts";
import type { ReputationBook } from "./reputation_book.ts";
import type { Reachability } from "./reachability.ts";
import type { ServedBy } from "./served_by.ts";
import { type Counters, countLookup, type Log, type P2PLibp2p } from "./types.ts";

/** Providers taken from any one responding peer, so a liar cannot fill the set with fakes */
export const MAX_PROVIDERS_PER_RESPONDER = 5;
/** More providers than this in one answer is a flood (kBucketSize is 20) */
export const MAX_PROVIDERS_IN_ANSWER = 100;
/** Connected peers asked directly per lookup */
const MAX_DIRECT_ASKS = 16;
/** How long a connected peer may take to say whether it holds a blob */
const DIRECT_ASK_TIMEOUT_MS = 1000;
/** How long a provider lookup may go on once it has found one provider */
const FIND_PROVIDERS_BUDGET_MS = 1000;
/** How long the providers found for a blob answer the next lookup (info, then the download) */
const FOUND_TTL_MS = 30_000;
/**
 * Unconnected providers a lookup starts dialling as it returns: as many as a download of a small
 * blob asks at once (src/registry/client/p2p.ts), so their connections are open or on the way
 * when it asks
 */
const DIALLED_AHEAD = 2;
/** How long a dial started ahead may take (a download's own dial joins it, with its own deadline) */
const DIAL_AHEAD_TIMEOUT_MS = 5000;

/** Collaborators of the provider service */
export interface ProviderServiceComponents {
  node: P2PLibp2p;
  reputation: ReputationBook;
  /** Peers that served a blob before: asked directly, like connected peers */
  servedBy?: ServedBy;
  /** Peers a dial failed to reach lately: listed last */
  reachability?: Reachability;
  log: Log;
  /** Where lookups are counted (metrics) */
  counters?: Counters;
}

/** Options of the provider service */
export interface ProviderServiceInit {
  /** The local blob store */
  cacheDir: string;
  /** Re-provide everything this often; 0 disables */
  reprovideIntervalMs: number;
}

/** Provide and find providers */
export interface ProviderService {
  /** Provide the store now, then on the interval */
  start(): void;
  /** Abort the re-provide runs */
  stop(): void;
  provide(sha256: string, signal: AbortSignal): Promise<void>;
  /**
   * Providers of `sha256`, leaving out (and not counting) the peers in `exclude`: the lookup ends
   * once it found `limit`, and the answers read by then are returned whole (at most 20)
   */
  findProviders(sha256: string, limit: number, signal: AbortSignal, exclude?: Set<string>): Promise<ProviderInfo[]>;
  /**
   * `peers` in the order a download should ask them: connected first, lately unreachable last,
   * better-reputed first within each
   */
  rank(peers: string[]): RankedPeer[];
  /** Distinct packages provided since the start */
  providedCount(): number;
}

/** Create the provider service */
export function createProviderService(
  components: ProviderServiceComponents,
  init: ProviderServiceInit,
): ProviderService {
  const { node, reputation, log } = components;
  const provided = new Set<string>();
  const shutdown = new AbortController();
  let timer: ReturnType<typeof setInterval> | undefined;

  async function provide(sha256: string, signal: AbortSignal): Promise<void> {
    await node.contentRouting.provide(cidFromSha256(sha256), { signal });
    provided.add(sha256);
  }

  async function provideAll(): Promise<void> {
    const digests: string[] = [];
    try {
      for await (const e of Deno.readDir(init.cacheDir)) if (e.isFile && isSha256Hex(e.name)) digests.push(e.name);
    } catch (err) {
      log("debug", `re-provide: cannot list ${init.cacheDir}: ${(err as Error).message}`);
      return;
    }
    // One run may take at most the interval; stop() aborts it at once
    const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(init.reprovideIntervalMs)]);
    for (const sha of digests) {
      if (signal.aborted) return;
      await provide(sha, signal).catch((err) =>
        log("debug", `re-provide ${sha.slice(0, 12)} failed: ${(err as Error).message}`)
      );
    }
    if (digests.length) log("debug", `provided ${digests.length} packages`);
  }

  /** Providers found recently, by blob: an install looks a blob up twice (vouchers, then the download) */
  const found = new Map<string, { at: number; providers: ProviderInfo[]; limit: number }>();

  async function findProviders(
    sha256: string,
    limit: number,
    signal: AbortSignal,
    exclude: Set<string> = new Set(),
  ): Promise<ProviderInfo[]> {
    const recent = found.get(sha256);
    // Reused when it has as many as asked for, or found fewer than it asked for (the walk saw them all)
    if (recent && Date.now() - recent.at < FOUND_TTL_MS) {
      const live = recent.providers.filter((p) => !reputation.isBanned(p.peerId) && !exclude.has(p.peerId));
      const complete = recent.providers.length < recent.limit;
      if (live.length >= limit || (complete && live.length > 0)) return live;
    }
    const started = performance.now();
    let fresh: ProviderInfo[] = [];
    try {
      fresh = await lookUp(sha256, limit, signal, true, exclude);
    } finally {
      countLookup(components.counters, "providers", (performance.now() - started) / 1000, fresh.length);
    }
    if (fresh.length && exclude.size === 0) {
      if (found.size > 1000) found.clear();
      found.set(sha256, { at: Date.now(), providers: fresh, limit });
    }
    dialAhead(fresh);
    return fresh;
  }

  /**
   * Start connecting to the first unconnected providers while the caller checks what they found
   * (signatures, trust, the cache): the download that follows asks them, and libp2p lets its
   * dial join the one under way. A dial that fails marks the peer unreachable, as a download's would.
   */
  function dialAhead(providers: ProviderInfo[]): void {
    for (const p of providers.slice(0, DIALLED_AHEAD)) {
      if (p.reach !== "unknown") continue;
      const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(DIAL_AHEAD_TIMEOUT_MS)]);
      node.dial(peerIdFromString(p.peerId), { signal }).catch((err) => {
        if (!shutdown.signal.aborted) components.reachability?.failed(p.peerId);
        log("debug", `dial ahead to ${p.peerId}: ${(err as Error).message}`);
      });
    }
  }

  async function lookUp(
    sha256: string,
    limit: number,
    signal: AbortSignal,
    retry: boolean,
    exclude: Set<string>,
  ): Promise<ProviderInfo[]> {
    const self = node.peerId.toString();
    const out = new Map<string, ProviderInfo>();
    const perResponder = new Map<string, number>();
    const flooders = new Set<string>();
    const cap = Math.min(limit, MAX_PROVIDERS_PER_KEY);
    const inner = new AbortController();
    // Once one provider is known, a lookup that drags on (slow peers, a flood to parse) is cut
    // at the budget: one verified provider is all an install needs
    const budget = setTimeout(() => {
      if (out.size > 0) inner.abort();
    }, FIND_PROVIDERS_BUDGET_MS);
    const both = AbortSignal.any([signal, inner.signal, shutdown.signal]);
    // What the node already knows comes first: connected peers are asked directly, so a
    // poisoned or empty routing table cannot hide a holder that is one hop away
    // (in parallel with the DHT walk; the budget then cuts a slow walk once they answered)
    const confirmed = new Set<string>();
    const direct = askConnected(sha256, both).then((found) => {
      for (const p of found) {
        if (exclude.has(p.peerId)) continue;
        // A holder that just said so counts even past the cap: it is the first one a download asks
        if (!out.has(p.peerId) && out.size >= MAX_PROVIDERS_PER_KEY) continue;
        out.set(p.peerId, out.get(p.peerId) ?? p);
        confirmed.add(p.peerId);
      }
      // Enough holders confirmed directly: the DHT walk has nothing left to add
      if (out.size >= cap) inner.abort();
    });
    try {
      for await (const ev of node.services.dht.findProviders(cidFromSha256(sha256), { signal: both })) {
        if (ev.name !== "PROVIDER") continue;
        const from = ev.from.toString();
        // An honest peer knows a handful of providers; thousands in one answer is a flood, and
        // js kad-dht ends the lookup once it has kBucketSize providers, so a flood would crowd
        // out the honest ones: ban the flooder and look again without it
        if (from !== self && ev.providers.length > MAX_PROVIDERS_IN_ANSWER) {
          flooders.add(from);
          continue;
        }
        for (const p of ev.providers) {
          const id = p.id.toString();
          if (id === self || reputation.isBanned(id) || out.has(id) || exclude.has(id)) continue;
          const taken = perResponder.get(from) ?? 0;
          if (from !== self && taken >= MAX_PROVIDERS_PER_RESPONDER) break;
          perResponder.set(from, taken + 1);
          if (p.multiaddrs.length) {
            await node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch((err) =>
              log("debug", `peer store ${id}: ${(err as Error).message}`)
            );
          }
          out.set(id, { peerId: id, addrs: p.multiaddrs.map((a) => a.toString()) });
          // The rest of this answer is kept past the cap: spares a download fails over to
          // (provider records outlive their holders) without another walk
          if (out.size >= MAX_PROVIDERS_PER_KEY) break;
        }
        if (out.size >= cap) {
          inner.abort();
          break;
        }
      }
    } catch (err) {
      await direct;
      if (!inner.signal.aborted && out.size === 0 && flooders.size === 0) throw err;
    } finally {
      clearTimeout(budget);
    }
    await direct;
    for (const f of flooders) {
      log("warn", `peer ${f} answered a provider lookup with a flood: banned`);
      reputation.ban(f);
    }
    if (flooders.size > 0 && retry && !signal.aborted) {
      const again = await lookUp(sha256, limit, signal, false, exclude);
      for (const p of again) if (!out.has(p.peerId) && out.size < cap) out.set(p.peerId, p);
    }
    log("debug", `findProviders ${sha256.slice(0, 12)}: ${[...out.keys()].join(", ") || "none"}`);
    return rank([...out.keys()], confirmed).map(({ peerId, reach }) => ({ ...out.get(peerId)!, reach }));
  }

  /**
   * Holders that just said they hold it (`confirmed`) or are connected first, peers a dial failed
   * to reach lately last (a DHT record outlives its provider by hours); then better-reputed first,
   * in whole points, so equals are shuffled and downloads spread
   */
  function rank(peers: string[], confirmed = new Set<string>()): RankedPeer[] {
    const connected = (peer: string) => {
      try {
        return node.getConnections(peerIdFromString(peer)).length > 0;
      } catch {
        return false; // not a PeerId: nobody is connected to it
      }
    };
    const reachOf = (peer: string): Reach =>
      connected(peer) ? "connected" : components.reachability?.isUnreachable(peer) ? "unreachable" : "unknown";
    const TIERS: Record<Reach, number> = { connected: 0, unknown: 1, unreachable: 2 };
    const keyed = [...new Set(peers)].map((peerId) => {
      const reach = reachOf(peerId);
      return {
        ranked: { peerId, reach },
        tier: confirmed.has(peerId) ? 0 : TIERS[reach],
        score: Math.floor(reputation.score(peerId)),
        r: Math.random(),
      };
    });
    keyed.sort((a, b) => a.tier - b.tier || b.score - a.score || a.r - b.r);
    return keyed.map((k) => k.ranked);
  }

  /**
   * Peers that served `sha256` before (dialled at their remembered address) and connected peers:
   * which of them hold it, asked with a zero-length fetch (a HEAD), in parallel
   */
  async function askConnected(sha256: string, signal: AbortSignal): Promise<ProviderInfo[]> {
    const asked = new Map<string, { peer: PeerId; addr?: string }>();
    for (const p of components.servedBy?.peersFor(sha256) ?? []) {
      if (reputation.isBanned(p.peerId) || p.peerId === node.peerId.toString()) continue;
      const peer = peerIdFromString(p.peerId);
      if (p.addrs.length && node.getConnections(peer).length === 0) {
        await node.peerStore.merge(peer, { multiaddrs: p.addrs.map((a) => multiaddr(a)) }).catch(() => {});
      }
      asked.set(p.peerId, { peer, ...(p.addrs[0] ? { addr: p.addrs[0] } : {}) });
    }
    for (const c of node.getConnections()) {
      const id = c.remotePeer.toString();
      if (!asked.has(id) && !reputation.isBanned(id)) {
        asked.set(id, { peer: c.remotePeer, addr: c.remoteAddr.toString() });
      }
    }
    const answers = await Promise.all(
      [...asked.values()].slice(0, MAX_DIRECT_ASKS).map(async ({ peer, addr }) => {
        try {
          const request: FetchRequest = { sha256, offset: 0, length: 0 };
          const frame = await exchange<FetchResponseHeader>(node, peer, FETCH_PROTOCOL, request, {
            timeoutMs: DIRECT_ASK_TIMEOUT_MS,
            signal,
            what: "holder check",
          });
          return frame.ok ? { peerId: peer.toString(), addrs: addr ? [addr] : [] } : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    const found = answers.filter((a): a is ProviderInfo => a !== undefined);
    if (found.length) log("debug", `findProviders ${sha256.slice(0, 12)}: ${found.length} connected holder(s)`);
    return found;
  }

  return {
    start() {
      if (init.reprovideIntervalMs <= 0) return;
      void provideAll();
      timer = setInterval(() => void provideAll(), init.reprovideIntervalMs);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      shutdown.abort(new DOMException("Node stopping", "AbortError"));
    },
    provide,
    findProviders: (sha256, limit, signal, exclude) => findProviders(sha256, limit, signal, exclude),
    rank: (peers) => rank(peers),
    providedCount: () => provided.size,
  };
}
