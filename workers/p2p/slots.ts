/**
 * Connection slots under pressure. js-libp2p refuses inbound connections once `maxConnections`
 * are open, and its pruner closes the newest idle connection first: a flood of idle peers
 * keeps every newcomer out. ggen keeps a fifth of the slots for its own dials (bootstrap
 * peers, providers) and, when the inbound share is full, closes one idle inbound connection
 * to make room: from the IP holding the most inbound connections, oldest first, never a
 * protected peer (bootstrap, allow-listed, or one that served verified bytes). An IP that lost
 * a connection that way is refused while the slots stay full for `cooldownMs`, so a flood cannot
 * churn through the slots by dialling again (the refusal comes before any handshake).
 * @module
 */
import type { Connection } from "@libp2p/interface";
import { ipOf } from "./access.ts";
import type { Log, P2PLibp2p } from "./types.ts";

/** Options of {@link createSlotKeeper} */
export interface SlotKeeperInit {
  /** The node's `maxConnections` */
  maxConnections: number;
  /** Connections younger than this are never closed to make room. @default 2000 */
  minAgeMs?: number;
  /** How long an IP that lost a connection to make room is refused while the slots are full. @default 30000 */
  cooldownMs?: number;
}

/** Collaborators of the slot keeper */
export interface SlotKeeperComponents {
  /** Late-bound: the gate is built before the node */
  node(): P2PLibp2p | undefined;
  /** Peers never closed to make room */
  isProtected(peerId: string): boolean;
  log: Log;
}

/** Makes room for inbound connections */
export interface SlotKeeper {
  /** Inbound connections allowed at once (the rest is kept for outbound dials) */
  readonly maxInbound: number;
  /** With `openInbound` inbound connections, may one more from `ip` come in? Closes an idle one if needed */
  admit(openInbound: number, ip: string): boolean;
  /**
   * Close idle connections (either direction: kad-dht's liveness pings open outbound ones to
   * whoever floods the table) until at most `maxConnections` are open
   */
  trim(): void;
  /** Idle connections closed to make room since the start */
  pruned(): number;
}

/**
 * The limit handed to libp2p: js-libp2p refuses an inbound connection at its limit before the
 * gater runs, so it gets a tenth more and ggen's own accounting decides who stays
 */
export function libp2pConnectionLimit(maxConnections: number): number {
  return maxConnections + Math.max(2, Math.ceil(maxConnections / 10));
}

/** A fifth of the slots, at least one, stays for outbound connections */
export function inboundShare(maxConnections: number): number {
  return Math.max(1, maxConnections - Math.max(1, Math.floor(maxConnections / 5)));
}

/** Create the slot keeper */
export function createSlotKeeper(components: SlotKeeperComponents, init: SlotKeeperInit): SlotKeeper {
  const maxInbound = inboundShare(init.maxConnections);
  const minAgeMs = init.minAgeMs ?? 2000;
  const cooldownMs = init.cooldownMs ?? 30_000;
  let pruned = 0;
  /** When an IP last lost a connection to make room */
  const prunedAt = new Map<string, number>();

  /** The idle connection to close first: from the most crowded IP, oldest first */
  const victim = (connections: Connection[], direction?: "inbound"): Connection | undefined => {
    const now = Date.now();
    const open = connections.filter((c) => c.status === "open" && (!direction || c.direction === direction));
    const perIp = new Map<string, number>();
    for (const c of open) {
      const ip = ipOf(c.remoteAddr.toString());
      perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    }
    const crowd = (c: Connection) => perIp.get(ipOf(c.remoteAddr.toString())) ?? 0;
    const candidates = open.filter((c) =>
      c.streams.length === 0 && now - c.timeline.open >= minAgeMs &&
      !components.isProtected(c.remotePeer.toString())
    );
    return candidates.sort((a, b) => crowd(b) - crowd(a) || a.timeline.open - b.timeline.open)[0];
  };
  const close = (chosen: Connection, why: string) => {
    pruned++;
    if (chosen.direction === "inbound") prunedAt.set(ipOf(chosen.remoteAddr.toString()), Date.now());
    components.log("debug", `${why}: closing idle ${chosen.direction} ${chosen.remotePeer} (${chosen.remoteAddr})`);
    chosen.abort(new Error(`closed by ggen: ${why}`));
  };

  return {
    maxInbound,
    admit(openInbound, ip) {
      if (openInbound < maxInbound) return true;
      const now = Date.now();
      for (const [k, at] of prunedAt) if (now - at >= cooldownMs) prunedAt.delete(k);
      if (prunedAt.has(ip)) {
        components.log("debug", `inbound slots full: refusing ${ip}, it lost a connection to make room recently`);
        return false;
      }
      const node = components.node();
      const chosen = node ? victim(node.getConnections(), "inbound") : undefined;
      if (!chosen) {
        components.log("debug", `inbound slots full: refusing ${ip}, no idle inbound connection to close`);
        return false;
      }
      close(chosen, "inbound slots full");
      return true;
    },
    trim() {
      const node = components.node();
      if (!node) return;
      const connections = node.getConnections();
      for (let over = connections.length - init.maxConnections; over > 0; over--) {
        const chosen = victim(connections.filter((c) => c.status === "open"));
        if (!chosen) return;
        close(chosen, `over ${init.maxConnections} connections`);
      }
    },
    pruned: () => pruned,
  };
}
