/**
 * Render the JSON of `deno bench --json` (read from stdin) into the registry section of
 * bench/RESULTS.md: each bench with its budget (taken from its name, "(budget < 10 ms)"), its
 * average and p99, a verdict on the p99, and the machine and date of the run. Benches that
 * failed are listed as failed. Run by `deno task bench`; never edit the section by hand.
 * @module
 */
import { fileURLToPath } from "node:url";

interface BenchResult {
  ok?: { n: number; avg: number; p99: number };
  failed?: unknown;
}
interface BenchJson {
  runtime: string;
  cpu: string;
  benches: { origin: string; group: string | null; name: string; results: BenchResult[] }[];
}

const UNITS: Record<string, number> = { ns: 1e-6, "µs": 1e-3, us: 1e-3, ms: 1, s: 1000 };
const START = "<!-- bench:registry:start -->";
const END = "<!-- bench:registry:end -->";

function budgetOf(name: string): number | undefined {
  const m = /budget < ([\d.]+) (ns|µs|us|ms|s)\)/.exec(name);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

function ms(ns: number): string {
  const v = ns / 1e6;
  return `${v < 0.01 ? v.toPrecision(2) : v.toFixed(v < 10 ? 2 : 1)} ms`;
}

const json = JSON.parse(await new Response(Deno.stdin.readable).text()) as BenchJson;
const rows = json.benches.map((b) => {
  const result = b.results[0];
  const budget = budgetOf(b.name);
  const measure = b.name.replace(/\s*\(budget[^)]*\)/, "");
  const file = b.origin.split("/").at(-1);
  if (!result?.ok) return `| ${measure} | ${file} | ${budget ?? "-"} ms | failed | - | FAILED |`;
  const verdict = budget === undefined ? "-" : result.ok.p99 / 1e6 <= budget ? "within" : "OVER";
  return `| ${measure} | ${file} | ${budget === undefined ? "-" : `< ${budget} ms`} | ${ms(result.ok.avg)} | ${
    ms(result.ok.p99)
  } | ${verdict} |`;
});
const failed = json.benches.filter((b) => !b.results[0]?.ok).length;
const section = [
  START,
  "",
  `Machine: ${json.runtime}, ${json.cpu}, ${navigator.hardwareConcurrency} cores. Date: ${
    new Date().toISOString().slice(0, 10)
  }. Command: \`deno task bench\`. Failed benches: ${failed}. The verdict compares the p99 with the budget.`,
  "",
  "| measure | file | budget | average | p99 | verdict |",
  "| --- | --- | --- | --- | --- | --- |",
  ...rows,
  "",
  END,
].join("\n");
const path = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
const current = await Deno.readTextFile(path);
const start = current.indexOf(START);
const end = current.indexOf(END);
const next = start >= 0 && end > start
  ? current.slice(0, start) + section + current.slice(end + END.length)
  : current.replace(/^(# .*\n)/, `$1\n${section}\n`);
await Deno.writeTextFile(path, next);
console.error(`bench/RESULTS.md: ${rows.length} benches, ${failed} failed`);
if (failed > 0) Deno.exit(1);
