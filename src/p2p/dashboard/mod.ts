/**
 * The P2P daemon's web dashboard: a live view of the node (peers and how each was found,
 * latency, reputation, bans, routing-table buckets, what it holds, transfers, announcements,
 * fallback events), served on the daemon's 127.0.0.1 control port under `/ui/`.
 * @module
 */
import type { Logger } from "../../core/mod.ts";
import type { Announcement } from "../announcements.ts";
import { createDashboardServer, type DashboardServer } from "./server.ts";
import { createDashboardState, type DashboardStateComponents, type NetworkEvent } from "./state.ts";

export { DASHBOARD_CSP, type DashboardServer, SESSION_COOKIE } from "./server.ts";
export type { DashboardState, DashboardStateComponents, HeldPackage, NetworkEvent } from "./state.ts";

/** The dashboard of one daemon */
export interface Dashboard extends DashboardServer {
  /** Show an announcement the node heard */
  noteAnnouncement(a: Announcement, from: string): void;
  /** Show something a ggen command reported (a fallback, who answered) */
  noteEvent(e: NetworkEvent): void;
}

/** Create the dashboard of a daemon's node */
export function createDashboard(
  components: DashboardStateComponents & { logger: Logger },
  init: { home: string },
): Dashboard {
  const state = createDashboardState(components);
  const server = createDashboardServer({ state, logger: components.logger }, init);
  return {
    ...server,
    noteAnnouncement: (a, from) => state.noteAnnouncement(a, from),
    noteEvent: (e) => state.noteEvent(e),
  };
}
