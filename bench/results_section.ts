/**
 * One section of bench/RESULTS.md per measuring script, between `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`: each script rewrites only its own, with the machine and the date.
 * @module
 */

/** One measured row with its budget and verdict (undefined: no budget) */
export interface ResultRow {
  measure: string;
  budget: string;
  value: string;
  ok: boolean | undefined;
}

/** The `p` quantile of `xs` (nearest rank; NaN for no samples): 0.95 is the p95 */
export function percentile(xs: number[], p: number): number {
  return [...xs].sort((a, b) => a - b)[Math.ceil(p * xs.length) - 1] ?? NaN;
}

/** The median of `xs` (the upper one of an even count; NaN for no samples) */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
}

/** The Markdown table of `rows` */
export function renderTable(rows: ResultRow[]): string {
  return [
    "| measure | budget | measured | verdict |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.measure} | ${r.budget} | ${r.value} | ${r.ok === undefined ? "-" : r.ok ? "within" : "OVER"} |`
    ),
  ].join("\n");
}

/**
 * Replace (or append) section `name` of bench/RESULTS.md. `legacyHeading`: a section written
 * before the markers existed, from that heading to the end of the file, is replaced too.
 */
export async function writeSection(
  name: string,
  o: { title: string; command: string; notes?: string; table: string; legacyHeading?: string },
): Promise<void> {
  const path = new URL("./RESULTS.md", import.meta.url);
  const current = await Deno.readTextFile(path);
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  const section = `${start}\n\n## ${o.title}\n\nMachine: ${machine}. Date: ${date}. Command: \`${o.command}\`.${
    o.notes ? ` ${o.notes}` : ""
  }\n\n${o.table}\n\n${end}`;
  let next: string;
  if (current.includes(start)) {
    next = current.slice(0, current.indexOf(start)) + section + current.slice(current.indexOf(end) + end.length);
  } else if (o.legacyHeading && current.includes(o.legacyHeading)) {
    next = `${current.slice(0, current.indexOf(o.legacyHeading))}${section}\n`;
  } else {
    next = `${current.trimEnd()}\n\n${section}\n`;
  }
  await Deno.writeTextFile(path, next);
}
