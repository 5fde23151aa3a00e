/**
 * Availability with central down (issue 13): 25 daemons in hybrid mode on loopback, packages
 * published to central and installed by a few daemons each; the same installs from fresh clients
 * with central healthy (the baseline), then with central stopped and 30% of the daemons frozen
 * (SIGSTOP: a hung or sleeping host), then killed (never every holder of a package), then with
 * central black-holed (accepting, never answering)
 * and default settings. Failed installs count in the success rate and, at the time they gave up,
 * in every percentile. Every process runs the single file users download (built here as
 * `deno task bundle` builds it); `--source` runs main.ts instead. `--write` replaces the
 * availability section of bench/RESULTS.md. Run: `deno task bench:availability`.
 */
import { join } from "node:path";
import { percentile, renderTable, type ResultRow, writeSection } from "./results_section.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { ggen, writePackage } from "../tests/helpers.ts";
import { buildSingleFile } from "./single_file.ts";
import { stepMedians, type TracedRun, tracedRun } from "./install_trace.ts";
import { type Daemon, startDaemon } from "../tests/p2p_helpers.ts";

const DAEMONS = Number(Deno.env.get("GGEN_BENCH_DAEMONS") ?? 25);
const PACKAGES = 5;
const HOLDERS = 4;
const CLIENTS_PER_PACKAGE = 3;
const KILLED = Math.round(DAEMONS * 0.3);
/**
 * Quiet time before each measured phase: the network's own work (provider records and
 * announcements of the holders' installs, then the redials and routing-table repair after the
 * kills) loads this 2-core machine for seconds, and would be measured as the installs' cost
 */
const SETTLE_MS = 10_000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
/**
 * The window over which idle daemons' CPU and network bytes are averaged: a daemon's periodic work
 * (routing-table refresh, re-provides, announcements) comes in bursts, and one 10 s window gave
 * 228 to 2273 B/s per daemon over runs, as a burst fell inside it or not
 */
const IDLE_WINDOW_MS = 60_000;
/** Kernel clock ticks per second (`getconf CLK_TCK`, 100 on Linux) */
const CLK_TCK = 100;

/**
 * CPU seconds each process (every thread) has used so far, from /proc/PID/stat (read through one
 * `cat`: Deno lets only -A read another process's /proc entries)
 */
async function cpuSeconds(pids: number[]): Promise<number[]> {
  const out = await new Deno.Command("cat", { args: pids.map((p) => `/proc/${p}/stat`), stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
    const fields = line.split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  });
}

/** Longest wait for a quiet network between two installs through a daemon */
const QUIET_MAX_MS = 5000;
/** The window over which the daemons' CPU use is judged */
const QUIET_WINDOW_MS = 250;

/**
 * Wait until the processes together use at most `cores` of CPU over one window (at most
 * {@link QUIET_MAX_MS}). An install through a daemon ends with that daemon re-sharing the package
 * (provider record, signed records, an announcement every daemon validates and stores); on this
 * 2-core machine the burst would otherwise be timed as part of the next install
 */
async function quiet(pids: number[], cores: number): Promise<void> {
  const deadline = performance.now() + QUIET_MAX_MS;
  let before = (await cpuSeconds(pids)).reduce((a, b) => a + b, 0);
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, QUIET_WINDOW_MS));
    const now = (await cpuSeconds(pids)).reduce((a, b) => a + b, 0);
    if ((now - before) / (QUIET_WINDOW_MS / 1000) <= cores) return;
    before = now;
  }
}

/** The daemon's process (`p2p start --json` names it) */
const pidOf = (d: Daemon) => Number(d.info.pid ?? d.child.pid);

/**
 * Every byte a daemon's libp2p connections sent and received so far: libp2p's own counters, on the
 * daemon's Prometheus endpoint (the sampled daemons start with `--metrics`)
 */
async function bytesOf(d: Daemon): Promise<number> {
  const text = await (await fetch(String(d.info.metrics))).text();
  const global = [...text.matchAll(/^libp2p_data_transfer_bytes_total\{protocol="global (?:sent|received)"\} (\d+)/gm)];
  if (global.length !== 2) throw new Error(`no libp2p byte counters at ${d.info.metrics}`);
  return global.reduce((sum, m) => sum + Number(m[1]), 0);
}

const work = await Deno.makeTempDir({ prefix: "ggen-availability-" });
const fromSource = Deno.args.includes("--source");
const main = fromSource ? undefined : await buildSingleFile(work);
const cli = main ? { main } : {};
const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work, "reg"), port: 0 });
const { token } = await createToken(server.metadata);
// Every process of the run shares one user cache (the single file writes its worker there)
const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, XDG_CACHE_HOME: join(work, "xdg-cache") };
const daemons: Daemon[] = [];
const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const held: Deno.Conn[] = [];
const holeLoop = (async () => {
  try {
    for await (const c of hole) held.push(c);
  } catch {
    // closed
  }
})();

let clientN = 0;

/** One fresh client's install of `id`: its time (to failure, if it failed) and whether it worked */
async function freshInstall(
  id: string,
  extraEnv: Record<string, string>,
  home?: string,
): Promise<{ ms: number; ok: boolean }> {
  const dir = join(work, `client-${clientN++}`);
  await Deno.mkdir(join(dir, "home"), { recursive: true });
  const t0 = performance.now();
  const r = await ggen(["install", id, "--json"], {
    home: home ?? join(dir, "home"),
    cwd: dir,
    env: { ...env, ...extraEnv },
    ...cli,
  });
  const ms = performance.now() - t0;
  if (r.code !== 0) console.error(`  ${id} failed: ${r.stderr.split("\n").find((l) => l.startsWith("error")) ?? ""}`);
  return { ms, ok: r.code === 0 };
}

const rows: ResultRow[] = [];
try {
  const publisher = join(work, "publisher");
  await Deno.mkdir(publisher);
  const ids = Array.from({ length: PACKAGES }, (_, k) => `io.avail.pkg${k}`);
  for (const id of ids) {
    const pkg = await writePackage(join(work, id), { id, version: "1.0.0" });
    if ((await ggen(["publish", pkg], { home: publisher, env, ...cli })).code !== 0) {
      throw new Error(`publish ${id} failed`);
    }
  }
  for (let i = 0; i < DAEMONS; i++) {
    daemons.push(
      await startDaemon(join(work, `d${i}`), {
        bootstrap: daemons.slice(0, 3).map((d) => d.addr),
        env,
        ...cli,
        // The last three keep libp2p's byte counters (their idle traffic is measured)
        ...(i >= DAEMONS - 3 ? { args: ["--metrics", "127.0.0.1:0"] } : {}),
      }),
    );
  }
  console.error(`${DAEMONS} daemons up`);
  // Package k is held by daemons k, k+5, k+10, k+15 (indices past the end wrap)
  const holdersOf = (k: number) => Array.from({ length: HOLDERS }, (_, j) => (k + j * PACKAGES) % DAEMONS);
  for (const [k, id] of ids.entries()) {
    for (const i of holdersOf(k)) {
      const project = join(work, `hold-${i}-${k}`);
      await Deno.mkdir(project);
      await ggen(["install", id], { home: daemons[i]!.home, cwd: project, env, ...cli });
    }
  }
  // Idle daemons (after the holders' installs settled): CPU of every daemon process and the
  // bytes a few of them exchange, over one quiet window; then the baseline
  await settle();
  const sampled = daemons.slice(-3);
  const bytesBefore = await Promise.all(sampled.map(bytesOf));
  const cpuBefore = await cpuSeconds(daemons.map(pidOf));
  const windowStart = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const windowS = (performance.now() - windowStart) / 1000;
  const cpuAfter = await cpuSeconds(daemons.map(pidOf));
  const cpuShare = daemons.map((_, i) => (cpuAfter[i]! - cpuBefore[i]!) / windowS * 100).sort((a, b) => a - b);
  const bytesAfter = await Promise.all(sampled.map(bytesOf));
  const idleBytes = sampled.map((_, i) => (bytesAfter[i]! - bytesBefore[i]!) / windowS).sort((a, b) => a - b);
  // Baseline: fresh clients with central healthy
  const entry = (k: number, c: number) => daemons[DAEMONS - 1 - ((k * CLIENTS_PER_PACKAGE + c) % (DAEMONS - KILLED))]!;
  // Every package installed by CLIENTS_PER_PACKAGE fresh clients, each bootstrapped to a live daemon
  const eachPackageFresh = async (extraEnv: Record<string, string> = {}) => {
    const results: { ms: number; ok: boolean }[] = [];
    for (const [k, id] of ids.entries()) {
      for (let c = 0; c < CLIENTS_PER_PACKAGE; c++) {
        results.push(await freshInstall(id, { GGEN_BOOTSTRAP: entry(k, c).addr, ...extraEnv }));
      }
    }
    return results;
  };
  const healthy = await eachPackageFresh();
  // Central down. The daemons that go: the first ones (the bootstrap peers among them), never a
  // package's last holder
  await server.stop();
  const alive = new Set(daemons.map((_, i) => i));
  const gone: number[] = [];
  for (let i = 0; alive.size > DAEMONS - KILLED && i < DAEMONS; i++) {
    const lastHolder = ids.some((_, k) =>
      holdersOf(k).includes(i) && holdersOf(k).filter((h) => alive.has(h)).length === 1
    );
    if (lastHolder) continue;
    alive.delete(i);
    gone.push(i);
  }
  // First frozen (SIGSTOP): the kernel still accepts their connections and nothing answers, as on
  // a LAN whose hosts sleep or hang (a killed daemon on loopback refuses at once, which no dead
  // host does); then they run again and, after a quiet time, are killed
  for (const i of gone) daemons[i]!.kill("SIGSTOP");
  await settle();
  const frozen = await eachPackageFresh();
  for (const i of gone) daemons[i]!.kill("SIGCONT");
  await settle();
  for (const i of gone) daemons[i]!.kill("SIGKILL");
  await settle();
  const down = await eachPackageFresh();
  // A client's next command: its previous one found central down, which the breaker remembers
  // (backend-health.json), so this one asks peers at once and loads the P2P worker ahead
  const returning: { ms: number; ok: boolean }[] = [];
  for (const [k, id] of ids.entries()) {
    for (let c = 0; c < CLIENTS_PER_PACKAGE; c++) {
      const home = join(work, `returning-${k}-${c}`);
      await Deno.mkdir(home);
      const bootstrap = { GGEN_BOOTSTRAP: entry(k, c).addr };
      await freshInstall(ids[(k + 1) % ids.length]!, bootstrap, home);
      returning.push(await freshInstall(id, bootstrap, home));
    }
  }
  // The same installs again with -v, each log line timed: where a fresh client's fallback spends its time
  const traced: TracedRun[] = [];
  for (const [k, id] of ids.entries()) {
    for (let c = 0; c < CLIENTS_PER_PACKAGE; c++) {
      const dir = join(work, `client-${clientN++}`);
      await Deno.mkdir(join(dir, "home"), { recursive: true });
      traced.push(
        await tracedRun(["install", id], {
          home: join(dir, "home"),
          cwd: dir,
          env: { ...env, GGEN_BOOTSTRAP: entry(k, c).addr },
          ...cli,
        }),
      );
    }
  }
  // A developer machine that runs its own daemon (`ggen p2p start`) and does not hold the package:
  // the CLI asks that daemon instead of starting a node. Each install ends with the daemon
  // re-sharing what it fetched; timed once back to back (that burst overlapping the next install),
  // once with each install started when the daemons are about as quiet as when idle
  const withDaemon: { ms: number; ok: boolean }[] = [];
  const backToBack: { ms: number; ok: boolean }[] = [];
  const livePids = [...alive].map((i) => pidOf(daemons[i]!));
  const idleCores = (cpuShare.reduce((a, b) => a + b, 0) / 100) * (alive.size / DAEMONS);
  for (const [spaced, results] of [[false, backToBack], [true, withDaemon]] as const) {
    let next = 0;
    for (const [k, id] of ids.entries()) {
      const candidates = [...alive].filter((i) => !holdersOf(k).includes(i));
      for (let c = 0; c < CLIENTS_PER_PACKAGE; c++) {
        // Even places in the first round, odd in the second: each daemon fetches the package anew
        const own = daemons[candidates[(2 * next++ + (spaced ? 1 : 0)) % candidates.length]!]!;
        if (spaced) await quiet(livePids, Math.max(2 * idleCores, 0.15));
        results.push(await freshInstall(id, {}, own.home));
      }
    }
  }
  // Pure P2P (mode p2p: central never asked), the reference of the two central-failure rows
  const pureP2P = await eachPackageFresh({ GGEN_MODE: "p2p" });
  // Central black-holed, default settings
  const blackHoled: { ms: number; ok: boolean }[] = [];
  for (const [k, id] of ids.entries()) {
    blackHoled.push(
      await freshInstall(id, {
        GGEN_REGISTRY: `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}`,
        GGEN_BOOTSTRAP: entry(k, 0).addr,
      }),
    );
  }
  const summary = (name: string, xs: { ms: number; ok: boolean }[]) => {
    const ok = xs.filter((x) => x.ok).length;
    return {
      name,
      ok,
      n: xs.length,
      p50: percentile(xs.map((x) => x.ms), 0.5),
      p95: percentile(xs.map((x) => x.ms), 0.95),
    };
  };
  const base = summary("central healthy", healthy);
  const lan = summary(`central down (refused), ${KILLED} of ${DAEMONS} daemons killed`, down);
  const asleep = summary(
    `central down (refused), ${KILLED} of ${DAEMONS} daemons frozen (connections accepted, never answered)`,
    frozen,
  );
  const next = summary(
    `central down (refused), ${KILLED} of ${DAEMONS} daemons killed, a client's next command (its previous one found central down)`,
    returning,
  );
  const own = summary(`central down (refused), client with its own daemon running, network quiet`, withDaemon);
  const ownBusy = summary(
    `central down (refused), client with its own daemon running, back to back (the previous install's re-sharing still running)`,
    backToBack,
  );
  const pure = summary("pure P2P (mode p2p), same network", pureP2P);
  const hole_ = summary("central black-holed, default settings", blackHoled);
  // The budgets: central down costs at most 2x a healthy install; a refused central at
  // most 100 ms over a pure P2P install, a black-holed one at most 1.5 s over it
  const budgets = new Map<typeof base, { text: string; max: number }[]>([
    [lan, [
      { text: `< ${(2 * base.p50).toFixed(0)} ms (2x central)`, max: 2 * base.p50 },
      { text: `< ${(pure.p50 + 100).toFixed(0)} ms (pure P2P + 100 ms)`, max: pure.p50 + 100 },
    ]],
    [asleep, [{ text: `< ${(2 * base.p50).toFixed(0)} ms (2x central)`, max: 2 * base.p50 }]],
    [next, [{ text: `< ${(2 * base.p50).toFixed(0)} ms (2x central)`, max: 2 * base.p50 }]],
    [own, [{ text: `< ${(2 * base.p50).toFixed(0)} ms (2x central)`, max: 2 * base.p50 }]],
    [hole_, [{ text: `< ${(pure.p50 + 1500).toFixed(0)} ms (pure P2P + 1.5 s)`, max: pure.p50 + 1500 }]],
  ]);
  rows.push({
    measure: `idle daemon CPU (${DAEMONS} daemons, ${windowS.toFixed(0)} s window): median, max; all together`,
    budget: "< 20% (design §6.2)",
    value: `${cpuShare[Math.floor(DAEMONS / 2)]!.toFixed(1)}%, ${cpuShare.at(-1)!.toFixed(1)}%; ${
      cpuShare.reduce((a, b) => a + b, 0).toFixed(0)
    }% of one core`,
    ok: cpuShare.at(-1)! < 20,
  });
  rows.push({
    measure: `idle network per daemon (libp2p bytes in + out, ${sampled.length} daemons sampled, ${
      windowS.toFixed(0)
    } s window), highest`,
    budget: "<= 2 KB/s",
    value: `${idleBytes.at(-1)!.toFixed(0)} B/s`,
    ok: idleBytes.at(-1)! <= 2048,
  });
  for (const s of [base, lan, next, asleep, own, ownBusy, pure, hole_]) {
    rows.push({
      measure: `${s.name}: installs that succeeded`,
      budget: "100%",
      value: `${s.ok}/${s.n}`,
      ok: s.ok === s.n,
    });
    for (const b of budgets.get(s) ?? [{ text: "-", max: NaN }]) {
      rows.push({
        measure: `${s.name}: median install (whole CLI run)`,
        budget: b.text,
        value: `${s.p50.toFixed(0)} ms`,
        ok: Number.isNaN(b.max) ? undefined : s.p50 < b.max,
      });
    }
    rows.push({ measure: `${s.name}: p95 install`, budget: "-", value: `${s.p95.toFixed(0)} ms`, ok: undefined });
  }
  rows.push({
    measure: `${lan.name}: where a fresh client's install spends its time (${
      traced.filter((r) => r.ok).length
    }/${traced.length} more installs with -v, each step's median in ms, ended by its log line)`,
    budget: "-",
    value: stepMedians(traced).join(", "),
    ok: undefined,
  });
} finally {
  await Promise.all(daemons.map((d) => d.stop()));
  await server.stop().catch(() => {});
  hole.close();
  for (const c of held) c.close();
  await holeLoop;
}

const table = renderTable(rows);
console.log(table);
if (Deno.args.includes("--write")) {
  await writeSection("availability", {
    title: "Availability (bench/availability.ts)",
    command: "deno task bench:availability",
    notes: `${DAEMONS} daemons, ${PACKAGES} packages held by ${HOLDERS} daemons each, ${CLIENTS_PER_PACKAGE} fresh ` +
      "clients per package and condition; a failed install counts at the time it gave up. The healthy and " +
      `the central-down phases each start after ${SETTLE_MS / 1000} s without activity (after the holders' ` +
      "installs, after the freeze, after the kills), so the network's own catch-up is not counted as install time. An install through " +
      "the client's own daemon ends with that daemon re-sharing the package (provider record, signed records, an " +
      "announcement every daemon validates and stores): timed back to back, and with each install started once the " +
      `live daemons together use at most twice their idle CPU (at most ${QUIET_MAX_MS / 1000} s of waiting). ` +
      "Every process runs " +
      (main ? "the single file `deno task bundle` builds (what users download)." : "main.ts from source."),
    table,
  });
}
await Deno.remove(work, { recursive: true }).catch(() => {});
Deno.exit(0);
