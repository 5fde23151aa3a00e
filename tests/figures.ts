/**
 * Figures measured by the security tests: each test writes what it measured to
 * `tests/figures/<key>.json` with the date and the machine, and `deno task security-report`
 * renders them into SECURITY.md. No figure in the report is typed by hand.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the figures live */
export const FIGURES_DIR = fileURLToPath(new URL("./figures/", import.meta.url));

/** One measured figure */
export interface Figure {
  key: string;
  figure: string;
  /** ISO 8601 date of the run */
  date: string;
  /** OS, architecture, cores, Deno version */
  machine: string;
}

/** The machine a figure was measured on */
export function machine(): string {
  return `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
}

/** Record what a test measured under `key` (replacing the previous run's figure) */
export async function recordFigure(key: string, figure: string): Promise<void> {
  const value: Figure = { key, figure, date: new Date().toISOString().slice(0, 10), machine: machine() };
  await Deno.mkdir(FIGURES_DIR, { recursive: true });
  await Deno.writeTextFile(join(FIGURES_DIR, `${key}.json`), JSON.stringify(value, null, 2) + "\n");
}
