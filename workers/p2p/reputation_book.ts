/**
 * The worker's reputation service: scores and bans (src/p2p/reputation.ts) persisted to
 * `$GGEN_HOME/reputation.json`, coalesced and atomic, and a hang-up of every banned peer.
 * @module
 */
import { type Behaviour, Reputation } from "../../src/p2p/mod.ts";
import type { Log } from "./types.ts";

/** Collaborators of the book */
export interface ReputationBookComponents {
  log: Log;
  /** Close every connection to a peer (the node's hangUp) */
  hangUp(peerId: string): Promise<void>;
  /** Told of every behaviour recorded (metrics count them) */
  onJudge?(behaviour: Behaviour): void;
}

/** Options of the book */
export interface ReputationBookInit {
  /** Where scores persist; empty for none */
  file: string;
  /** Coalescing delay of writes. @default 500 ms */
  saveDelayMs?: number;
}

/** Scores and bans of peers */
export interface ReputationBook {
  readonly reputation: Reputation;
  isBanned(peerId: string): boolean;
  score(peerId: string): number;
  /** Record a behaviour; bans and hangs up when the score falls through the floor */
  judge(peerId: string, behaviour: Behaviour, reason: string): void;
  ban(peerId: string, ms?: number): void;
  unban(peerId: string): void;
  banned(): string[];
  /** Read the saved table */
  load(): Promise<void>;
  /** Write now and stop the save timer */
  stop(): Promise<void>;
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(value));
  await Deno.rename(tmp, path);
}

/** Create the reputation book */
export function createReputationBook(
  components: ReputationBookComponents,
  init: ReputationBookInit,
): ReputationBook {
  const { log } = components;
  const reputation = new Reputation();
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    if (!init.file || saveTimer !== undefined) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      void writeJsonAtomic(init.file, reputation).catch((err) =>
        log("debug", `saving reputation: ${(err as Error).message}`)
      );
    }, init.saveDelayMs ?? 500);
  };
  const hangUp = (peerId: string) =>
    void components.hangUp(peerId).catch((err) => log("debug", `hang up ${peerId}: ${(err as Error).message}`));
  return {
    reputation,
    isBanned: (peerId) => reputation.isBanned(peerId),
    score: (peerId) => reputation.score(peerId),
    judge(peerId, behaviour, reason) {
      components.onJudge?.(behaviour);
      const banned = reputation.record(peerId, behaviour);
      if (behaviour !== "verified-transfer") {
        log("warn", `peer ${peerId} ${behaviour} (score ${reputation.score(peerId).toFixed(1)}): ${reason}`);
      }
      if (banned) {
        log("warn", `banned peer ${peerId} for an hour`);
        hangUp(peerId);
      }
      save();
    },
    ban(peerId, ms) {
      reputation.ban(peerId, ms);
      save();
      hangUp(peerId);
    },
    unban(peerId) {
      reputation.unban(peerId);
      save();
    },
    banned: () => reputation.banned(),
    async load() {
      if (!init.file) return;
      try {
        reputation.load(JSON.parse(await Deno.readTextFile(init.file)));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) log("warn", `ignoring ${init.file}: ${(err as Error).message}`);
      }
    },
    async stop() {
      if (saveTimer !== undefined) clearTimeout(saveTimer);
      saveTimer = undefined;
      if (init.file) {
        await writeJsonAtomic(init.file, reputation).catch((err) =>
          log("warn", `saving reputation: ${(err as Error).message}`)
        );
      }
    },
  };
}
