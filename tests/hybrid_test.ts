/**
 * Hybrid mode scenarios with a real central server and a real P2P daemon on loopback.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

Deno.test("hybrid: central first, P2P fallback when central is down or lacks a package", async (t) => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  let daemon: Daemon | undefined;
  let serverStopped = false;
  try {
    const { token } = await createToken(server.metadata);
    const home = join(work.path, "home");
    await Deno.mkdir(home);
    const central = await writePackage(join(work.path, "central-pkg"), { id: "io.hy.central", version: "1.0.0" });
    const p2pOnly = await writePackage(join(work.path, "p2p-pkg"), { id: "io.hy.peer", version: "1.0.0" });
    // One or two daemons: a LAN this small lowers min_sources (README), else first use needs 3 peers
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, GGEN_MIN_SOURCES: "1" };
    /** `ggen install ARGS` in a new project directory `project`, with its own home unless given */
    const installIn = async (
      project: string,
      args: string[],
      opts: { home?: string; env?: Record<string, string> },
    ) => {
      const cwd = join(work.path, project);
      await Deno.mkdir(cwd);
      return await ggen(["install", ...args], {
        home: opts.home ?? join(work.path, `${project}-home`),
        cwd,
        env: opts.env ?? env,
      });
    };
    assert.equal((await ggen(["publish", central], { home, env })).code, 0);

    await t.step("P2P network empty: clear failure naming what was tried", async () => {
      const r = await installIn("empty", ["io.hy.peer", "-v"], { home: join(work.path, "lonely") });
      assert.equal(r.code, 1);
      // Central does not know it, and no peer could be asked: unavailable, not "not found"
      assert.match(r.stderr, /central: Package "io.hy.peer" not found/);
      assert.match(r.stderr, /p2p: Package "io.hy.peer" not found on the P2P network: could not connect to any peer/);
    });

    daemon = await startDaemon(join(work.path, "peer"));
    assert.equal((await ggen(["publish", "--p2p", p2pOnly], { home: daemon.home })).code, 0);
    assert.equal((await ggen(["publish", "--p2p", central], { home: daemon.home })).code, 0);
    const clientEnv = { ...env, GGEN_BOOTSTRAP: daemon.addr };

    await t.step("central available: answered by central, P2P not started", async () => {
      const r = await installIn("a", ["io.hy.central", "--json", "-v"], {
        home: join(work.path, "c1"),
        env: clientEnv,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, "central");
      assert.doesNotMatch(r.stderr, /starting a short-lived node/);
      // Not even the P2P code loads ahead while central answers
      assert.doesNotMatch(r.stderr, /P2P worker/);
    });

    await t.step("package only in P2P: central's 404 falls back to P2P", async () => {
      const r = await installIn("b", ["io.hy.peer", "--json", "-v"], { home: join(work.path, "c2"), env: clientEnv });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, `p2p:${daemon!.peerId}`);
      assert.match(r.stderr, /central failed \(Package "io.hy.peer" not found\); falling back/);
    });

    await t.step("after a central fetch, the local daemon provides the package to peers", async () => {
      const local = await startDaemon(join(work.path, "local"), { bootstrap: [daemon!.addr] });
      try {
        const r = await installIn("d", ["io.hy.central", "--json"], { home: local.home });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, "central");
        // P2P mode with a daemon running: the command uses the daemon's node and loads no worker
        const viaDaemon = await ggen(["search", "io.hy", "--p2p", "-v"], { home: local.home });
        assert.equal(viaDaemon.code, 0, viaDaemon.stderr);
        assert.doesNotMatch(viaDaemon.stderr, /P2P worker|starting a short-lived node/);
        const status = await ggen(["p2p", "status", "--json"], { home: local.home });
        const provided = jsonLines<{ provided_packages: number }>(status.stdout)[0]!.provided_packages;
        assert.ok(provided >= 1);
        await recordFigure(
          "privacy",
          "central healthy, no daemon: no P2P node started, so 0 DHT queries; with a daemon running, every package " +
            `fetched from central is provided on the DHT (1 package installed: ${provided} provided)`,
        );
      } finally {
        await local.stop();
      }
    });

    await server.stop();
    serverStopped = true;
    await t.step("central down: search and install fall back to P2P at once", async () => {
      const r = await installIn("c", ["io.hy.central", "--json", "-v"], {
        home: join(work.path, "c3"),
        env: clientEnv,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, `p2p:${daemon!.peerId}`);
      assert.match(r.stderr, /Cannot reach central registry/);
      // A new client: central's port refused a connection before the commands' code loaded
      assert.match(r.stderr, /P2P worker loading ahead \(central refused a connection\)/);
      // The install's failure is remembered: the next command loads the P2P worker while its own
      // code loads, and its node takes that worker over
      const s = await ggen(["search", "io.hy.central", "--json", "-v"], {
        home: join(work.path, "c3"),
        env: clientEnv,
      });
      assert.equal(s.code, 0, s.stderr);
      assert.equal(jsonLines<{ id: string; source: string }>(s.stdout)[0]?.source, "p2p");
      assert.match(s.stderr, /P2P worker loading ahead \(central failed moments ago\)/);
      assert.match(s.stderr, /P2P worker taken over: it started loading \d+ ms ago/);
      // So does every command of P2P mode
      const p = await installIn("p", ["io.hy.peer", "--p2p", "-v"], { env: clientEnv });
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stderr, /P2P worker loading ahead \(p2p mode\)/);
      assert.match(p.stderr, /P2P worker taken over/);
      const forced = await ggen(["search", "x", "--central"], { home: join(work.path, "c3"), env: clientEnv });
      assert.equal(forced.code, 1);
      assert.match(forced.stderr, /Cannot reach central registry/);
    });
  } finally {
    await daemon?.stop();
    if (!serverStopped) await server.stop();
  }
});
