/**
 * Where a whole `ggen install` run spends its time: the install runs with `-v`, each line of its
 * debug log is stamped with the time it arrived, and the lines that end a step (named below by
 * the log text they match) split the run into steps. For bench/availability.ts: a fresh client's
 * fallback to P2P, from process start to exit.
 * @module
 */
import { median } from "./results_section.ts";
import { cliEnv, MAIN, runFlags } from "../tests/helpers.ts";

/** The steps of an install that falls back to a short-lived P2P node, by the log line that ends each */
export const FALLBACK_STEPS: { step: string; endsWith: RegExp }[] = [
  { step: "start and configuration", endsWith: /ggen debug: config: / },
  { step: "commands part", endsWith: /ggen debug: registry mode: / },
  { step: "central refused", endsWith: /no P2P daemon running: starting a short-lived node/ },
  { step: "worker, libp2p and services", endsWith: /ggen:p2p debug: node \S+ listening on / },
  { step: "first peer", endsWith: /short-lived node \S+ has \d+ peers/ },
  { step: "catalogs, provider lookup, signatures", endsWith: /get "[^"]+": answered by p2p/ },
  { step: "download and store", endsWith: /ggen debug: \S+: fetched from p2p:/ },
  { step: "files in place, node stopped", endsWith: /ggen debug: P2P node stopped in / },
];

/** One traced run: its wall time, whether it worked, and when each step ended (ms from the start) */
export interface TracedRun {
  ms: number;
  ok: boolean;
  ends: (number | undefined)[];
}

/** Run `ggen ARGS -v` as the tests run ggen (tests/helpers.ts), stamping each stderr line as it arrives */
export async function tracedRun(
  args: string[],
  opts: { home: string; cwd: string; env: Record<string, string>; main?: string },
): Promise<TracedRun> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...runFlags(args), opts.main ?? MAIN, ...args, "-v"],
    cwd: opts.cwd,
    env: cliEnv(opts.home, opts.env),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const ends: (number | undefined)[] = FALLBACK_STEPS.map(() => undefined);
  let pending = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    const at = performance.now() - started;
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const i = FALLBACK_STEPS.findIndex((s, k) => ends[k] === undefined && s.endsWith.test(line));
      if (i >= 0) ends[i] = at;
    }
  }
  const status = await child.status;
  return { ms: performance.now() - started, ok: status.success, ends };
}

/**
 * Each step's median length over `runs` (a step counts in a run where it and the step before it
 * were both seen), then the exit, as "step N ms" parts
 */
export function stepMedians(runs: TracedRun[]): string[] {
  const parts: string[] = [];
  const lengths = (end: (r: TracedRun) => number | undefined, start: (r: TracedRun) => number | undefined) =>
    runs.flatMap((r) => {
      const [a, b] = [start(r), end(r)];
      return a !== undefined && b !== undefined && b >= a ? [b - a] : [];
    });
  for (const [k, { step }] of FALLBACK_STEPS.entries()) {
    const xs = lengths((r) => r.ends[k], (r) => (k === 0 ? 0 : r.ends[k - 1]));
    parts.push(`${step} ${xs.length ? median(xs).toFixed(0) : "n/a"}`);
  }
  const exit = lengths((r) => r.ms, (r) => r.ends.at(-1));
  parts.push(`exit ${exit.length ? median(exit).toFixed(0) : "n/a"}`);
  return parts;
}
