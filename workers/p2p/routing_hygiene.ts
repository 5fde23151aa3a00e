/**
 * Routing-table hygiene. js kad-dht keeps an entry until a full bucket pings it, so a flood of
 * short-lived peers leaves a table of dead entries that every lookup walks into (and that
 * neighbours learn from us). Two rules keep the table useful:
 * - diversity: at most `maxPerIp` entries share one IP address (go-libp2p's diversity filter
 *   groups by subnet; a LAN shares one subnet, so ggen groups by address);
 * - liveness: every `sweepIntervalMs`, entries without a connection are pinged (bounded
 *   concurrency, short timeout); an entry that fails `maxFailures` sweeps in a row is removed.
 * @module
 */
import type { PeerId } from "@libp2p/interface";
import { createHash } from "node:crypto";
import { ipOf } from "./access.ts";
import type { Log, P2PLibp2p } from "./types.ts";

/** The parts of kad-dht's routing table used here (its public type exposes only `size`) */
interface KadRoutingTable {
  readonly size: number;
  kb?: { toIterable(): Iterable<{ peerId: PeerId }> };
  remove(peer: PeerId): Promise<void>;
  addEventListener(type: "peer:add", listener: (evt: CustomEvent<PeerId>) => void): void;
  removeEventListener(type: "peer:add", listener: (evt: CustomEvent<PeerId>) => void): void;
}

/** A peer's Kademlia id: SHA-256 of its multihash, as kad-dht computes it (kept: status asks often) */
const kadIds = new Map<string, Uint8Array>();
function kadIdOf(peer: PeerId): Uint8Array {
  const key = peer.toString();
  let id = kadIds.get(key);
  if (!id) {
    if (kadIds.size > 10_000) kadIds.clear();
    id = createHash("sha256").update(peer.toMultihash().bytes).digest();
    kadIds.set(key, id);
  }
  return id;
}

/** Leading bits two ids share */
function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/** Routing-table entries by k-bucket (index: leading bits shared with this node's id) */
export function routingBuckets(node: P2PLibp2p): number[] {
  const table = node.services.dht.routingTable as unknown as KadRoutingTable;
  const self = kadIdOf(node.peerId);
  const buckets: number[] = [];
  for (const e of table.kb?.toIterable() ?? []) {
    const cpl = commonPrefixLength(self, kadIdOf(e.peerId));
    while (buckets.length <= cpl) buckets.push(0);
    buckets[cpl]!++;
  }
  return buckets;
}

/** Options of {@link createRoutingHygiene} */
export interface RoutingHygieneInit {
  /** Most routing-table entries per IP address */
  maxPerIp: number;
  /** Time between liveness sweeps; 0 disables them */
  sweepIntervalMs: number;
  /** Time one liveness ping may take. @default 2000 */
  pingTimeoutMs?: number;
  /** Failed sweeps in a row before an entry is removed. @default 2 */
  maxFailures?: number;
  /** Pings in flight at once. @default 8 */
  concurrency?: number;
}

/** The running hygiene */
export interface RoutingHygiene {
  start(): void;
  stop(): void;
  /** One liveness sweep now; resolves with the number of entries removed */
  sweep(signal?: AbortSignal): Promise<number>;
  /** Entries removed since the start (dead or over the per-IP cap) */
  removed(): number;
}

/** Create the hygiene of `node`'s routing table */
export function createRoutingHygiene(
  components: { node: P2PLibp2p; log: Log },
  init: RoutingHygieneInit,
): RoutingHygiene {
  const { node, log } = components;
  const table = node.services.dht.routingTable as unknown as KadRoutingTable;
  const failures = new Map<string, number>();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let removed = 0;
  let sweeping: Promise<number> | undefined;

  const entries = (): PeerId[] => [...(table.kb?.toIterable() ?? [])].map((e) => e.peerId);
  const remove = async (peer: PeerId, why: string) => {
    failures.delete(peer.toString());
    try {
      await table.remove(peer);
      removed++;
      log("debug", `routing table: removed ${peer} (${why})`);
    } catch (err) {
      log("debug", `routing table: cannot remove ${peer}: ${(err as Error).message}`);
    }
  };
  /** The IPs a peer is known by: its live connections first, else its stored addresses */
  const ipsOf = async (peer: PeerId): Promise<string[]> => {
    const live = node.getConnections(peer).map((c) => ipOf(c.remoteAddr.toString()));
    if (live.length) return [...new Set(live)];
    const stored = await node.peerStore.get(peer).catch(() => undefined);
    return [...new Set((stored?.addresses ?? []).map((a) => ipOf(a.multiaddr.toString())))];
  };

  const onAdd = (evt: CustomEvent<PeerId>) => {
    void (async () => {
      const added = evt.detail;
      const ips = (await ipsOf(added)).filter(Boolean);
      if (ips.length === 0) return;
      let sharing = 0;
      for (const peer of entries()) {
        if (peer.equals(added)) continue;
        if ((await ipsOf(peer)).some((ip) => ips.includes(ip))) sharing++;
        if (sharing >= init.maxPerIp) {
          return void await remove(added, `more than ${init.maxPerIp} entries at ${ips[0]}`);
        }
      }
    })().catch((err) => log("debug", `routing table diversity check: ${(err as Error).message}`));
  };

  const sweep = (signal?: AbortSignal): Promise<number> => {
    sweeping ??= (async () => {
      const before = removed;
      const queue = entries().filter((p) => node.getConnections(p).length === 0);
      const worker = async () => {
        for (let peer = queue.shift(); peer; peer = queue.shift()) {
          if (signal?.aborted || controller.signal.aborted) return;
          try {
            await node.services.ping.ping(peer, {
              signal: AbortSignal.any([controller.signal, AbortSignal.timeout(init.pingTimeoutMs ?? 2000)]),
            });
            failures.delete(peer.toString());
            // a liveness check does not keep the connection it opened
            if (node.getConnections(peer).every((c) => c.streams.length === 0)) {
              await node.hangUp(peer).catch(() => {});
            }
          } catch {
            const n = (failures.get(peer.toString()) ?? 0) + 1;
            if (n >= (init.maxFailures ?? 2)) await remove(peer, `unreachable in ${n} sweeps`);
            else failures.set(peer.toString(), n);
          }
        }
      };
      await Promise.all(Array.from({ length: init.concurrency ?? 8 }, worker));
      return removed - before;
    })().finally(() => sweeping = undefined);
    return sweeping;
  };

  const schedule = () => {
    if (init.sweepIntervalMs <= 0 || controller.signal.aborted) return;
    timer = setTimeout(() => void sweep().finally(schedule), init.sweepIntervalMs);
  };

  return {
    start() {
      table.addEventListener("peer:add", onAdd);
      schedule();
    },
    stop() {
      controller.abort();
      clearTimeout(timer);
      table.removeEventListener("peer:add", onAdd);
    },
    sweep,
    removed: () => removed,
  };
}
