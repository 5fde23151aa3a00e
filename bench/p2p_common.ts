/**
 * Helpers the P2P benches share: a recorder of timed rows and loopback worker nodes.
 * @module
 */
import type { ResultRow } from "./results_section.ts";
import type { WorkerNode } from "../src/p2p/mod.ts";
import { waitForPeers } from "../src/p2p/mod.ts";
import { loopbackNodeInit } from "../tests/node_init.ts";

/** A function that adds a row to `rows`: a measure, its budget (undefined: none), a figure and its unit */
export type Recorder = (measure: string, budgetMs: number | undefined, ms: number, unit?: string) => void;

/** A recorder into `rows` that also logs each figure on stderr */
export function createRecorder(rows: ResultRow[]): Recorder {
  return (measure, budgetMs, ms, unit = "ms") => {
    rows.push({
      measure,
      budget: budgetMs === undefined ? "-" : unit === "MB" ? `< ${budgetMs} MB` : `< ${budgetMs} ms`,
      value: `${ms.toFixed(unit === "MB" ? 1 : ms < 10 ? 2 : 0)} ${unit}`,
      ok: budgetMs === undefined ? undefined : ms < budgetMs,
    });
    console.error(`${measure}: ${ms.toFixed(2)} ${unit}`);
  };
}

/** A loopback node's options, with room for slow requests on a loaded machine */
export const nodeInit = (home: string, bootstrap: string[] = []) =>
  loopbackNodeInit(home, { bootstrap, requestTimeoutMs: 60_000 });

/** Wait until every node has `min` peers in its routing table */
export async function waitRouting(nodes: WorkerNode[], min: number): Promise<void> {
  await Promise.all(nodes.map((n) => waitForPeers(n, min, 10_000)));
}
