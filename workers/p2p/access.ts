/**
 * Access gating of the node: allow/deny lists of PeerIds and CIDR ranges, bans, a cap on
 * simultaneous inbound connections per IP (js-libp2p has none) and on all inbound connections. Pure bookkeeping, so it is
 * tested without a node; `connectionGater()` plugs it into libp2p.
 * @module
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { cidrContains } from "@chainsafe/netmask";
import type { WorkerStartInit } from "../../src/p2p/mod.ts";

/** The access policy: a subset of the worker's start options */
export type AccessPolicy = Pick<
  WorkerStartInit,
  "maxConnectionsPerIp" | "allowPeers" | "denyPeers" | "allowRanges" | "denyRanges"
>;

/** Collaborators of the gate */
export interface AccessGateComponents {
  isBanned(peerId: string): boolean;
  /** With this many inbound connections open, may one more come in? (see slots.ts) */
  admit?(openInbound: number, ip: string): boolean;
}

/** An inbound connection as the gate sees it */
export type InboundConnection = Pick<MultiaddrConnection, "remoteAddr" | "addEventListener">;

/** The gate */
export interface AccessGate {
  peerAllowed(peerId: string): boolean;
  addressAllowed(ip: string): boolean;
  /** True when an inbound connection must be refused; counts it while open otherwise */
  denyInbound(conn: InboundConnection): boolean;
  /** Inbound connections refused since the start */
  denied(): number;
  /** Open inbound connections from `ip` */
  openFrom(ip: string): number;
  /** The libp2p connection gater */
  connectionGater(): ConnectionGater;
}

/** The IP of a `/ip4/…` or `/ip6/…` multiaddr, or "" */
export function ipOf(multiaddrText: string): string {
  return /^\/ip[46]\/([^/]+)/.exec(multiaddrText)?.[1] ?? "";
}

function inRanges(ip: string, ranges: string[]): boolean {
  return ranges.some((r) => {
    try {
      return cidrContains(r, ip);
    } catch {
      return false;
    }
  });
}

/** Create the gate */
export function createAccessGate(components: AccessGateComponents, policy: AccessPolicy): AccessGate {
  const inboundPerIp = new Map<string, number>();
  let inbound = 0;
  let denied = 0;
  const addressAllowed = (ip: string) => {
    if (!ip) return true;
    if (inRanges(ip, policy.denyRanges)) return false;
    return policy.allowRanges.length === 0 || inRanges(ip, policy.allowRanges);
  };
  const peerAllowed = (peer: string) => {
    if (components.isBanned(peer) || policy.denyPeers.includes(peer)) return false;
    return policy.allowPeers.length === 0 || policy.allowPeers.includes(peer);
  };
  const denyInbound = (conn: InboundConnection) => {
    const ip = ipOf(conn.remoteAddr.toString());
    const open = inboundPerIp.get(ip) ?? 0;
    if (!addressAllowed(ip) || open >= policy.maxConnectionsPerIp || !(components.admit?.(inbound, ip) ?? true)) {
      denied++;
      return true;
    }
    inboundPerIp.set(ip, open + 1);
    inbound++;
    conn.addEventListener("close", () => {
      inbound--;
      const n = (inboundPerIp.get(ip) ?? 1) - 1;
      if (n <= 0) inboundPerIp.delete(ip);
      else inboundPerIp.set(ip, n);
    }, { once: true });
    return false;
  };
  return {
    peerAllowed,
    addressAllowed,
    denyInbound,
    denied: () => denied,
    openFrom: (ip) => inboundPerIp.get(ip) ?? 0,
    connectionGater: () => ({
      denyDialPeer: (peer: PeerId) => !peerAllowed(peer.toString()),
      denyDialMultiaddr: (ma: Multiaddr) => !addressAllowed(ipOf(ma.toString())),
      denyInboundConnection: (maConn: MultiaddrConnection) => denyInbound(maConn),
      denyInboundEncryptedConnection: (peer: PeerId) => !peerAllowed(peer.toString()),
      denyOutboundEncryptedConnection: (peer: PeerId) => !peerAllowed(peer.toString()),
    }),
  };
}
