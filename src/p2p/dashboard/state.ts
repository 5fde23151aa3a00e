/**
 * What the dashboard shows, as one JSON snapshot: the node's figures, its peers (how each was
 * found, latency, reputation) and bans, routing-table buckets, what it holds, transfers in
 * flight, and two bounded feeds kept here: announcements heard and fallback events the CLI
 * reported (central unreachable, peers used, why).
 * @module
 */
import type { Logger } from "../../core/mod.ts";
import type { Announcement } from "../announcements.ts";
import type { NodeStatus, P2PNode, PeerSummary, TransferSummary } from "../types.ts";

/** Entries each feed keeps */
const FEED_LENGTH = 50;
/** How long the held-packages listing is reused (it reads the disk) */
const HELD_TTL_MS = 5000;

/** A blob this node holds (and provides), with the package versions it is known as */
export interface HeldPackage {
  /** SHA-256 of the tarball, hex */
  sha256: string;
  /** `id@version` names from the metadata cache; empty when unknown */
  names: string[];
}

/** Something a ggen command did about the network, reported to the daemon */
export interface NetworkEvent {
  /** "unavailable": a backend failed and the next was used; "answered": which backend answered */
  kind: "unavailable" | "answered";
  /** The backend concerned: central, cache, p2p */
  backend: string;
  /** What happened, for people */
  message: string;
}

/** One dashboard snapshot */
export interface DashboardState {
  /** When it was taken, epoch milliseconds */
  at: number;
  /** The node's figures */
  status: NodeStatus;
  /** Connected peers: how each was found, latency, reputation */
  peers: PeerSummary[];
  /** PeerIds banned now */
  banned: string[];
  /** Blobs moving now */
  transfers: TransferSummary[];
  /** What the node holds and provides */
  held: HeldPackage[];
  /** Announcements heard, newest first (bounded) */
  announcements: { at: number; from: string; package_id: string; version: string; sha256: string }[];
  /** What ggen commands reported, newest first (bounded) */
  events: (NetworkEvent & { at: number })[];
}

/** Collaborators of the dashboard state */
export interface DashboardStateComponents {
  /** The daemon's node */
  node: P2PNode;
  /** Where failures to read the store go (debug) */
  logger: Logger;
  /** The blobs the node holds (the daemon's store, named from its metadata cache) */
  held?: () => Promise<HeldPackage[]>;
}

/** The dashboard's state: snapshots and the feeds */
export interface DashboardStateSource {
  /** Everything the dashboard shows, now */
  snapshot(signal?: AbortSignal): Promise<DashboardState>;
  /** Keep an announcement the node heard */
  noteAnnouncement(a: Announcement, from: string): void;
  /** Keep something a ggen command reported */
  noteEvent(e: NetworkEvent): void;
}

/** Create the state source */
export function createDashboardState(components: DashboardStateComponents): DashboardStateSource {
  const { node } = components;
  const announcements: DashboardState["announcements"] = [];
  const events: DashboardState["events"] = [];
  let held: { at: number; value: HeldPackage[] } | undefined;
  const push = <T>(feed: T[], item: T) => {
    feed.unshift(item);
    feed.length = Math.min(feed.length, FEED_LENGTH);
  };
  const heldNow = async (): Promise<HeldPackage[]> => {
    if (!components.held) return [];
    if (!held || Date.now() - held.at > HELD_TTL_MS) {
      const value = await components.held().catch((err) => {
        components.logger.debug(`dashboard: held packages: ${(err as Error).message}`);
        return held?.value ?? [];
      });
      held = { at: Date.now(), value };
    }
    return held.value;
  };
  return {
    async snapshot(signal) {
      const o = signal ? { signal } : {};
      const [status, peers, banned, transfers, heldList] = await Promise.all([
        node.status(o),
        node.peers(o),
        node.banned(),
        node.transfers(o),
        heldNow(),
      ]);
      return {
        at: Date.now(),
        status,
        peers,
        banned,
        transfers,
        held: heldList,
        announcements: [...announcements],
        events: [...events],
      };
    },
    noteAnnouncement(a, from) {
      push(announcements, { at: Date.now(), from, package_id: a.package_id, version: a.version, sha256: a.sha256 });
    },
    noteEvent(e) {
      push(events, {
        at: Date.now(),
        kind: e.kind,
        backend: String(e.backend).slice(0, 40),
        message: String(e.message).slice(0, 500),
      });
    },
  };
}
