/**
 * Whether a command starts loading the P2P worker before its commands' code has loaded
 * (core/worker_ahead.ts says how). Only where a short-lived node is the likely way: P2P and
 * P2P-first modes, or hybrid mode while the breaker skips central (it failed moments ago) or when
 * central's port refuses a connection; never with a daemon running (the command uses the
 * daemon's node), offline, or with central answering (a worker that loads for nothing costs a
 * healthy install about 30 ms, measured).
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

/**
 * Why the worker loads ahead, or undefined when it does not; "probe" in hybrid mode with central
 * not known to be down: it loads ahead if central's port refuses a connection
 */
export function workerAheadReason(facts: AheadFacts): string | "probe" | undefined {
  const { command, config } = facts;
  if (!NODE_COMMANDS.has(command) || !config.p2p.enabled || config.registry.network !== "online") return undefined;
  if (facts.daemonRunning) return undefined;
  switch (config.registry.mode) {
    case "p2p":
    case "p2p-first":
      return `${config.registry.mode} mode`;
    case "hybrid":
      return facts.centralSkipped ? "central failed moments ago" : "probe";
    default:
      return undefined;
  }
}

/**
 * Whether central's port refused a connection (no server there: the command's own request would
 * fail the same way), opened and closed at once. A central that answers sees one connection come
 * and go; one that stays silent is left to the hedge.
 */
async function centralRefuses(centralUrl: string): Promise<boolean> {
  const url = new URL(centralUrl);
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  try {
    (await Deno.connect({ hostname: url.hostname.replace(/^\[|\]$/g, ""), port })).close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

/** How long the probe may hold the command: a refusal on the LAN comes back well within it */
const PROBE_WAIT_MS = 2;

/**
 * Start loading the worker when {@link workerAheadReason} says so, before the commands' code
 * loads: that keeps this thread busy while the worker loads on its own. In hybrid mode, central's
 * port is probed first, for at most {@link PROBE_WAIT_MS}. Never fails the command.
 */
export async function loadWorkerAhead(command: string, config: Readonly<Config>, logger: Logger): Promise<void> {
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
    let why: string = reason;
    if (reason === "probe") {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), PROBE_WAIT_MS));
      const refused = await Promise.race([centralRefuses(config.registry.centralUrl), waited]);
      clearTimeout(timer);
      if (!refused) return;
      why = "central refused a connection";
    }
    startWorkerAhead(url);
    logger.debug(`P2P worker loading ahead (${why})`);
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
