/**
 * The central registry under faults (design §5): a fault-injecting TCP proxy in front of it adds
 * latency, black-holes, resets, truncates, throttles, or stands in for a 5xx or a refused port.
 * For each, the hybrid CLI must fall back to P2P or fail clearly, never leave a partial install,
 * and take about the design's time (timeouts: 3 retries with backoff, about 5 s; 5xx and refused:
 * under 1 s). Prints one table.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { verifyProject } from "../src/store/mod.ts";
import { createPackageCache } from "../src/store/mod.ts";
import { type Faults, startFaultProxy } from "./fault_proxy.ts";
import { ggen, jsonLines, randomBytes, tempDir, writePackage } from "./helpers.ts";
import { startDaemon } from "./p2p_helpers.ts";

Deno.test("central under faults: every fault falls back to P2P or fails clearly, with no partial install", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: {},
  });
  const daemon = await startDaemon(join(work.path, "peer"));
  const failing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("down", { status: 503 }),
  );
  const proxy = startFaultProxy({ hostname: "127.0.0.1", port: server.port });
  const rows: string[] = [];
  try {
    const { token } = await createToken(server.metadata);
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.faults.pkg", version: "1.0.0" });
    const random = randomBytes(100_000);
    await Deno.writeFile(join(pkg, "templates", "random.bin"), random);
    // The same signed package on central and on the peer
    assert.equal(
      (await ggen(["publish", pkg], { home: daemon.home, env: { GGEN_REGISTRY: server.url, GGEN_TOKEN: token } })).code,
      0,
    );
    assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemon.home })).code, 0);
    const proxied = `http://127.0.0.1:${proxy.port}`;
    const cases: {
      name: string;
      faults: Faults;
      url?: string;
      timeoutSecs?: string;
      expect: "central" | "p2p";
      budgetS: number;
    }[] = [
      // A fresh home knows no central latency yet: the hedge (300 ms) lets the peer answer first
      { name: "1 s added latency", faults: { latencyMs: 1000 }, expect: "p2p", budgetS: 3 },
      { name: "black hole", faults: { blackHole: true }, timeoutSecs: "1", expect: "p2p", budgetS: 8 },
      { name: "connection reset", faults: { reset: true }, expect: "p2p", budgetS: 3 },
      { name: "body truncated mid-transfer", faults: { truncateAfterBytes: 60_000 }, expect: "p2p", budgetS: 3 },
      { name: "10 KB/s bandwidth", faults: { bytesPerSecond: 10_000 }, timeoutSecs: "2", expect: "p2p", budgetS: 12 },
      { name: "HTTP 503", faults: {}, url: `http://127.0.0.1:${failing.addr.port}`, expect: "p2p", budgetS: 3 },
      { name: "connection refused", faults: {}, url: "http://127.0.0.1:9", expect: "p2p", budgetS: 3 },
    ];
    for (const c of cases) {
      proxy.faults = c.faults;
      const project = join(work.path, c.name.replaceAll(/\W+/g, "-"));
      const home = join(project, "home");
      await Deno.mkdir(home, { recursive: true });
      const started = performance.now();
      const r = await ggen(["install", "io.faults.pkg", "--json", "-v"], {
        home,
        cwd: project,
        env: {
          GGEN_REGISTRY: c.url ?? proxied,
          GGEN_BOOTSTRAP: daemon.addr,
          // one daemon: a LAN this small lowers min_sources (README)
          GGEN_MIN_SOURCES: "1",
          ...(c.timeoutSecs ? { GGEN_TIMEOUT_SECS: c.timeoutSecs } : {}),
        },
      });
      const seconds = (performance.now() - started) / 1000;
      proxy.faults = {};
      const source = r.code === 0 ? jsonLines<{ source: string }>(r.stdout)[0]?.source ?? "" : "";
      const outcome = r.code !== 0
        ? `failed: ${r.stderr.split("\n").find((l) => l.startsWith("error:"))}`
        : source === "central"
        ? "central answered"
        : "fell back to P2P";
      const partial = r.code === 0
        ? (await verifyProject(project, createPackageCache({ logger: silentLogger }, { home }))).length
        : 0;
      rows.push(`| ${c.name} | ${outcome} | ${partial} | ${seconds.toFixed(2)} s | < ${c.budgetS} s |`);
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      assert.equal(source.startsWith("p2p:") ? "p2p" : source, c.expect, `${c.name}: ${source}`);
      assert.equal(partial, 0);
    }
  } finally {
    console.log(
      "\n| fault | outcome | partial installs | wall time | budget |\n| --- | --- | --- | --- | --- |\n" +
        rows.join("\n"),
    );
    await recordFigure(
      "central-faults",
      String(rows.map((r) => r.split("|").slice(1, 5).map((c) => c.trim()).join(": ")).join("; ")).trim(),
    );
    proxy.close();
    await failing.shutdown();
    await daemon.stop();
    await server.stop();
  }
});
