/**
 * Whether a command starts loading the P2P worker before its commands' code has loaded
 * (core/worker_ahead.ts says how). Only where a short-lived node is the likely way: P2P and
 * P2P-first modes, or hybrid mode while the breaker skips central, which failed moments ago;
 * never with a daemon running (the command uses the daemon's node), offline, or with central
 * healthy (a node that is not started costs a healthy install about 30 ms, measured).
 * @module
 */
import { join } from "node:path";
import { DAEMON_FILE_NAME, type Logger, p2pWorkerUrlNow, startWorkerAhead } from "../core/base.ts";
import { centralSkipped } from "./backend_health.ts";
import type { Config } from "./config.ts";

/** The commands that may start a short-lived node for what they look up or fetch */
const NODE_COMMANDS: ReadonlySet<string> = new Set(["install", "update", "search", "info"]);

/** What decides it */
export interface AheadFacts {
  /** The command's name (`install`) */
  command: string;
  config: Readonly<Config>;
  /** The breaker skips central now */
  centralSkipped: boolean;
  /** This home has a daemon file */
  daemonRunning: boolean;
}

/** Why the worker loads ahead, or undefined when it does not */
export function workerAheadReason(facts: AheadFacts): string | undefined {
  const { command, config } = facts;
  if (!NODE_COMMANDS.has(command) || !config.p2p.enabled || config.registry.network !== "online") return undefined;
  if (facts.daemonRunning) return undefined;
  switch (config.registry.mode) {
    case "p2p":
    case "p2p-first":
      return `${config.registry.mode} mode`;
    case "hybrid":
      return facts.centralSkipped ? "central failed moments ago" : undefined;
    default:
      return undefined;
  }
}

/**
 * Start loading the worker when {@link workerAheadReason} says so. Synchronous on purpose: it
 * runs before the commands' code, whose loading then keeps this thread busy while the worker
 * loads on its own. Never fails the command.
 */
export function loadWorkerAhead(command: string, config: Readonly<Config>, logger: Logger): void {
  try {
    const reason = workerAheadReason({
      command,
      config,
      daemonRunning: exists(join(config.home, DAEMON_FILE_NAME)),
      centralSkipped: config.registry.mode === "hybrid" && centralSkipped(config.home, config.registry.centralUrl),
    });
    if (!reason) return;
    // Not written out yet (a first run of this build): the node starts the usual way
    const url = p2pWorkerUrlNow(config.home);
    if (!url) return;
    startWorkerAhead(url);
    logger.debug(`P2P worker loading ahead (${reason})`);
  } catch (err) {
    logger.debug(`P2P worker not loaded ahead: ${(err as Error).message}`);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
