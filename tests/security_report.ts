/**
 * `deno task security-report`: render the figures the security tests wrote (tests/figures/)
 * into the marked table of SECURITY.md. The threat, mitigation and test of each row are written
 * here once; the figure, date and machine come from the last run. A row whose test has not run
 * says so instead of showing a stale number.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Figure, FIGURES_DIR } from "./figures.ts";
import { ATTACK_RUN_ROWS, EARLIER_ROWS, type Row } from "./security_rows.ts";
import { AVAILABILITY_ROWS, P2P_ROWS, WEB_ROWS } from "./security_rows_later.ts";

const SECTIONS = [
  { name: "earlier", rows: EARLIER_ROWS },
  { name: "attack-run", rows: ATTACK_RUN_ROWS },
  { name: "p2p-trust", rows: P2P_ROWS },
  { name: "availability", rows: AVAILABILITY_ROWS },
  { name: "web", rows: WEB_ROWS },
];
const marker = (name: string, edge: "start" | "end") => `<!-- security-report:${name}:${edge} -->`;

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The rendered table of `rows` */
export async function renderReport(rows: Row[]): Promise<string> {
  const lines = [
    "| threat | mitigation | test | last run |",
    "| --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    let last = "not run yet: run the test";
    try {
      const f = JSON.parse(await Deno.readTextFile(join(FIGURES_DIR, `${row.key}.json`))) as Figure;
      last = `${f.figure} (${f.date}, ${f.machine})`;
    } catch {
      // the test has not run on this checkout
    }
    lines.push(`| ${cell(row.threat)} | ${cell(row.mitigation)} | ${row.test} | ${cell(last)} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const path = fileURLToPath(new URL("../SECURITY.md", import.meta.url));
  let text = await Deno.readTextFile(path);
  for (const section of SECTIONS) {
    const start = text.indexOf(marker(section.name, "start"));
    const end = text.indexOf(marker(section.name, "end"));
    if (start < 0 || end < start) throw new Error(`SECURITY.md lacks the ${marker(section.name, "start")} markers`);
    const head = text.slice(0, start + marker(section.name, "start").length);
    text = `${head}\n\n${await renderReport(section.rows)}\n\n${text.slice(end)}`;
  }
  await Deno.writeTextFile(path, text);
  console.error(`SECURITY.md: ${SECTIONS.map((s) => s.rows.length).join(" + ")} rows rendered from ${FIGURES_DIR}`);
}
