/**
 * Web pages (issue 17): the first contentful paint of the daemon's dashboard (opened by its
 * one-time link, redirect included) and of a registry package page, in Debian's Chromium on
 * loopback, each load in a fresh browser context (nothing cached). A daemon with three peers
 * and a registry with one package are real processes and servers. `--write` replaces the web
 * section of bench/RESULTS.md. Run: `deno task bench:web`.
 */
import { join } from "node:path";
import { median, renderTable, type ResultRow, writeSection } from "./results_section.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { CHROMIUM, launchBrowser } from "../tests/browser.ts";
import { ggen, writePackage } from "../tests/helpers.ts";
import { type Daemon, startDaemon } from "../tests/p2p_helpers.ts";

const LOADS = 7;
const BUDGET_MS = 200;

if (!CHROMIUM) {
  console.error("bench:web needs Chromium: apt-get install -y --no-install-recommends chromium");
  Deno.exit(1);
}

const work = await Deno.makeTempDir({ prefix: "ggen-web-bench-" });
const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work, "reg"), port: 0 });
const daemons: Daemon[] = [];
const rows: ResultRow[] = [];
try {
  const { token } = await createToken(server.metadata);
  const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
  const pkg = await writePackage(join(work, "pkg"), { id: "io.web.bench", version: "1.0.0" });
  await Deno.writeTextFile(join(pkg, "README.md"), "# Bench\n\nA README with `code`, a [link](https://example.org).\n");
  await Deno.mkdir(join(work, "publisher"));
  if ((await ggen(["publish", pkg], { home: join(work, "publisher"), env })).code !== 0) throw new Error("publish");
  daemons.push(await startDaemon(join(work, "hub")));
  for (let i = 0; i < 3; i++) {
    daemons.push(await startDaemon(join(work, `peer${i}`), { bootstrap: [daemons[0]!.addr] }));
  }

  await using browser = await launchBrowser();
  /** The first contentful paint of `url` in a fresh context, in ms since the navigation started */
  const firstPaint = async (url: string): Promise<number> => {
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: "load" });
      await page.waitForFunction('performance.getEntriesByName("first-contentful-paint").length > 0', {
        timeout: 10_000,
      });
      return Number(await page.evaluate('performance.getEntriesByName("first-contentful-paint")[0].startTime'));
    } finally {
      await context.close();
    }
  };
  const dashboard: number[] = [];
  const registry: number[] = [];
  let failed = 0;
  for (let i = 0; i < LOADS; i++) {
    try {
      const link = await ggen(["p2p", "ui", "--json"], { home: daemons[0]!.home });
      dashboard.push(await firstPaint(JSON.parse(link.stdout.trim()).url));
      registry.push(await firstPaint(`${server.url}/packages/io.web.bench`));
    } catch (err) {
      failed++;
      console.error(`load ${i}: ${(err as Error).message}`);
    }
  }
  rows.push({
    measure: `dashboard first contentful paint (one-time link and redirect included), median of ${LOADS}`,
    budget: `< ${BUDGET_MS} ms`,
    value: `${median(dashboard).toFixed(0)} ms`,
    ok: failed === 0 && median(dashboard) < BUDGET_MS,
  });
  rows.push({
    measure: `registry package page first contentful paint, median of ${LOADS}`,
    budget: `< ${BUDGET_MS} ms`,
    value: `${median(registry).toFixed(0)} ms`,
    ok: failed === 0 && median(registry) < BUDGET_MS,
  });
  rows.push({ measure: "loads that failed", budget: "0", value: String(failed), ok: failed === 0 });
} finally {
  for (const d of daemons.reverse()) await d.stop();
  await server.stop();
}

const table = renderTable(rows);
console.log(table);
if (Deno.args.includes("--write")) {
  await writeSection("web", {
    title: "Web pages (bench/web_measure.ts)",
    command: "deno task bench:web",
    notes:
      `Debian's Chromium (headless, puppeteer-core) on loopback, a fresh browser context per load; a daemon with 3 ` +
      "peers, a registry with one package.",
    table,
  });
}
await Deno.remove(work, { recursive: true }).catch(() => {});
Deno.exit(0);
