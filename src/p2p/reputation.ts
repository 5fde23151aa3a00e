/**
 * Peer reputation (design §9.1): a score per PeerId that verified transfers raise, wrong bytes
 * lower hard, and stalls, invalid records and invalid announcements lower; it decays toward zero
 * with a one-hour half-life. Below the threshold a peer is banned for an hour (enforced by the
 * connection gater). Persisted in `$GGEN_HOME/reputation.json`.
 * @module
 */

/** What a peer did */
export type Behaviour =
  | "verified-transfer"
  | "wrong-bytes"
  | "stall"
  | "failure"
  | "invalid-record"
  | "invalid-announcement";

/** Score change per behaviour */
export const SCORE_DELTAS: Record<Behaviour, number> = {
  "verified-transfer": 1,
  // One checksum mismatch is enough for a ban
  "wrong-bytes": -50,
  "stall": -10,
  "failure": -5,
  "invalid-record": -10,
  "invalid-announcement": -5,
};

/** Score at or below which a peer is banned */
export const BAN_THRESHOLD = -40;
/** How long a ban lasts */
export const BAN_MS = 60 * 60 * 1000;
/** Half-life of a score */
export const HALF_LIFE_MS = 60 * 60 * 1000;
/** Most peers remembered */
const MAX_PEERS = 10_000;

/** One peer's standing */
export interface Standing {
  /** Reputation score; decays towards 0 */
  score: number;
  /** When the score was last computed, ms */
  updated: number;
  /** Banned until this time, ms; 0 when not banned */
  bannedUntil: number;
}

/** The reputation table */
export class Reputation {
  #peers = new Map<string, Standing>();
  #now: () => number;
  /**
   * Create an empty table.
   *
   * @param now the clock (tests)
   */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Restore from the persisted form */
  load(data: Record<string, Standing>): void {
    for (const [peer, s] of Object.entries(data)) {
      if (typeof s?.score === "number" && typeof s.updated === "number") {
        this.#peers.set(peer, { ...s, bannedUntil: s.bannedUntil ?? 0 });
      }
    }
  }

  /** The persisted form */
  toJSON(): Record<string, Standing> {
    return Object.fromEntries(this.#peers);
  }

  /** The current (decayed) score */
  score(peer: string): number {
    const s = this.#peers.get(peer);
    if (!s) return 0;
    return s.score * Math.pow(0.5, (this.#now() - s.updated) / HALF_LIFE_MS);
  }

  /** True while a peer is banned */
  isBanned(peer: string): boolean {
    return (this.#peers.get(peer)?.bannedUntil ?? 0) > this.#now();
  }

  /** Record a behaviour; returns true when it just got the peer banned */
  record(peer: string, behaviour: Behaviour): boolean {
    const now = this.#now();
    const wasBanned = this.isBanned(peer);
    const s: Standing = {
      score: this.score(peer) + SCORE_DELTAS[behaviour],
      updated: now,
      bannedUntil: this.#peers.get(peer)?.bannedUntil ?? 0,
    };
    if (s.score <= BAN_THRESHOLD && !wasBanned) s.bannedUntil = now + BAN_MS;
    this.#peers.delete(peer);
    this.#peers.set(peer, s);
    if (this.#peers.size > MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value!);
    return !wasBanned && this.isBanned(peer);
  }

  /** Ban a peer (default one hour) and close its connections */
  ban(peer: string, ms = BAN_MS): void {
    const s = this.#peers.get(peer) ?? { score: 0, updated: this.#now(), bannedUntil: 0 };
    s.bannedUntil = this.#now() + ms;
    this.#peers.set(peer, s);
  }

  /** Lift the ban of a peer */
  unban(peer: string): void {
    const s = this.#peers.get(peer);
    if (!s) return;
    s.bannedUntil = 0;
    s.score = Math.max(s.score, BAN_THRESHOLD + 1);
    s.updated = this.#now();
  }

  /** Every banned peer */
  banned(): string[] {
    return [...this.#peers.keys()].filter((p) => this.isBanned(p));
  }
}
