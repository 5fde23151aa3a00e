/**
 * Peers a dial failed to reach lately (refused, timed out): a provider lookup puts them last, so an
 * install does not wait on a holder that was seen gone moments ago (a killed daemon stays in
 * provider records for hours). A peer that connects again is forgotten at once.
 * @module
 */

/** How long a failed dial demotes a peer */
export const UNREACHABLE_MS = 60_000;
/** Peers remembered at most; the oldest go first */
const MAX_PEERS = 1024;

/** Recent dial failures, by PeerId */
export interface Reachability {
  /** A dial to `peer` failed */
  failed(peer: string): void;
  /** A connection to `peer` opened */
  reached(peer: string): void;
  /** True when a dial to `peer` failed within {@link UNREACHABLE_MS} and it has not connected since */
  isUnreachable(peer: string): boolean;
}

/** Create the record; `now` is for tests */
export function createReachability(init: { now?: () => number } = {}): Reachability {
  const now = init.now ?? Date.now;
  const failedAt = new Map<string, number>();
  return {
    failed(peer) {
      failedAt.delete(peer);
      failedAt.set(peer, now());
      if (failedAt.size > MAX_PEERS) failedAt.delete(failedAt.keys().next().value!);
    },
    reached(peer) {
      failedAt.delete(peer);
    },
    isUnreachable(peer) {
      const at = failedAt.get(peer);
      if (at === undefined) return false;
      if (now() - at < UNREACHABLE_MS) return true;
      failedAt.delete(peer);
      return false;
    },
  };
}
