/**
 * The single file users download (`deno task bundle` → dist/ggen.js) works on its own: built
 * into a directory with nothing else in it, it runs the registry, a daemon and the CLI, and a
 * fresh machine installs from a peer with central stopped. Its P2P worker, its server side and the
 * demo's examples come from inside the file (nothing is read from the source tree).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveRegistry } from "./central_helpers.ts";
import { recordFigure } from "./figures.ts";
import { ggen, ROOT, RUN_FLAGS, runFlags, tempDir, writePackage } from "./helpers.ts";
import { startDaemon } from "./p2p_helpers.ts";
import { launcherEnv } from "../src/core/embedded.ts";

Deno.test("bundle: the single file runs the registry, a daemon, the CLI and the demo on its own", async (t) => {
  await using work = await tempDir("ggen-bundle-test-");
  const main = join(work.path, "dist", "ggen.js");
  // Where the single file writes its worker (the user's cache, shared by every GGEN_HOME)
  const xdg = { XDG_CACHE_HOME: join(work.path, "xdg-cache") };
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run", "scripts/bundle.ts", "--output", main],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
  const size = (await Deno.stat(main)).size;

  await t.step("--version, --help and config get parse only the command-line code", async () => {
    const cache = join(work.path, "light-cache");
    for (const args of [["--version"], ["--help"], ["config", "get", "registry.mode"]]) {
      const r = await ggen(args, { home: work.path, main, env: { XDG_CACHE_HOME: cache } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, args[0] === "--version" ? /^\d+\.\d+\.\d+/ : /\S/);
    }
    // None of them needed an embedded part (each would have been written out on first use)
    assert.equal(await Deno.stat(join(cache, "ggen")).then(() => true, () => false), false);
    // The parsed code imports neither semver nor node:crypto (about 25 ms of every start, measured)
    const text = await Deno.readTextFile(main);
    const parsed = text.slice(0, text.indexOf("/*ggen-embedded:"));
    assert.doesNotMatch(parsed, /from "node:crypto"|node_modules\/semver\/|from "node:sqlite"/);
    // Nor any node: module (scripts/commander_host.js and scripts/node_host.js stand in: Deno's
    // Node.js layer loads with the first): help, version, usage errors and the configuration's
    // paths read exactly as from the source
    assert.doesNotMatch(parsed, /^import\b[^;\n]*"node:/m);
    // (a relative swarm key path is resolved against GGEN_HOME: node:path's resolve, or its stand-in)
    const env = { XDG_CACHE_HOME: cache, GGEN_PSK_FILE: "../keys/./swarm.key" };
    const sameAsSource = [
      ["--help"],
      ["install", "--help"],
      ["--version"],
      ["--bogus"],
      ["instal"],
      ["p2p"],
      ["config", "show"],
    ];
    for (const args of sameAsSource) {
      const [fromSource, fromFile] = await Promise.all([
        ggen(args, { home: work.path, env }),
        ggen(args, { home: work.path, main, env }),
      ]);
      assert.deepEqual(
        [fromFile.code, fromFile.stdout, fromFile.stderr],
        [fromSource.code, fromSource.stdout, fromSource.stderr],
        args.join(" "),
      );
    }
    // and with no permission at all, as the README says they run
    for (const args of [["--help"], ["--version"]]) {
      const bare = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--no-prompt", main, ...args],
        env: { GGEN_HOME: work.path, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const full = await ggen(args, { home: work.path, main, env: { XDG_CACHE_HOME: cache } });
      assert.equal(bare.code, 0, new TextDecoder().decode(bare.stderr));
      assert.equal(new TextDecoder().decode(bare.stdout), full.stdout, args.join(" "));
    }
  });

  await t.step("scripts/install.sh puts a ggen command with ggen's permission scopes on the PATH", async () => {
    const prefix = join(work.path, "prefix");
    const installed = await new Deno.Command("sh", {
      args: [join(ROOT, "scripts", "install.sh"), "--from", main, "--prefix", prefix],
      env: { DENO: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(installed.code, 0, new TextDecoder().decode(installed.stderr));
    const launcher = await Deno.readTextFile(join(prefix, "bin", "ggen"));
    assert.doesNotMatch(launcher, /-A |--allow-all|--allow-run/);
    // The flags and environment the tests and benchmarks run ggen with (runFlags, launcherEnv) are
    // the launcher's: a stand-in for deno that prints them shows what the launcher passes for each command
    const echoing = join(work.path, "echo-deno");
    await Deno.writeTextFile(echoing, '#!/bin/sh\necho ${MALLOC_ARENA_MAX:+MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX} "$@"\n');
    await Deno.chmod(echoing, 0o755);
    const echoPrefix = join(work.path, "echo-prefix");
    const echoInstall = await new Deno.Command("sh", {
      args: [join(ROOT, "scripts", "install.sh"), "--from", main, "--prefix", echoPrefix],
      env: { DENO: echoing },
      stdout: "null",
    }).output();
    assert.equal(echoInstall.code, 0);
    for (const args of [["--version"], ["--json", "registry", "serve", "--port", "0"], ["p2p", "start"]]) {
      // (an empty MALLOC_ARENA_MAX counts as unset: this test's own environment does not leak in)
      const seen = await new Deno.Command(join(echoPrefix, "bin", "ggen"), {
        args,
        env: { MALLOC_ARENA_MAX: "" },
        stdout: "piped",
      }).output();
      const file = join(echoPrefix, "share", "ggen", "ggen.js");
      const added = Object.entries(launcherEnv(args)).map(([k, v]) => `${k}=${v}`);
      assert.equal(
        new TextDecoder().decode(seen.stdout).trim(),
        [...added, "run", "--quiet", ...runFlags(args), file, ...args].join(" "),
      );
    }
    // and the tasks' too
    const tasks = (JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as { tasks: Record<string, string> })
      .tasks;
    for (const task of ["start", "demo"]) assert.ok(tasks[task]!.includes(RUN_FLAGS.join(" ")), task);
    // One executable has one set of V8 flags for every command: the daemon's (its memory budget)
    assert.ok(tasks.compile!.includes(runFlags(["p2p", "start"]).join(" ")), "compile");
    const r = await new Deno.Command(join(prefix, "bin", "ggen"), {
      args: ["--version"],
      env: { GGEN_HOME: work.path },
      stdout: "piped",
    }).output();
    assert.equal(r.code, 0);
    assert.match(new TextDecoder().decode(r.stdout), /^\d+\.\d+\.\d+/);
  });

  await t.step("the demo (registry, two P2P nodes, its embedded examples)", async () => {
    const home = join(work.path, "demo");
    await Deno.mkdir(home);
    const r = await ggen(["demo"], { home, main, cwd: home, env: xdg });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n").filter((l) => /installed .*: bytes from peer 12D3Koo/.test(l)).length, 3);
  });

  await t.step(
    "registry serve, publish, a daemon that holds it, central stopped, a fresh install from the peer",
    async () => {
      const regHome = join(work.path, "reg-home");
      await Deno.mkdir(regHome);
      const data = join(work.path, "reg");
      const server = await serveRegistry(["--data", data, "--port", "0"], regHome, {}, main);
      let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
      try {
        const tokenRun = await ggen(["--json", "registry", "token", "create", "--data", data], { home: regHome, main });
        assert.equal(tokenRun.code, 0, tokenRun.stderr);
        const { token } = JSON.parse(tokenRun.stdout.trim().split("\n")[0]!) as { token: string };
        const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, ...xdg };
        const pkg = await writePackage(join(work.path, "pkg"), { id: "io.bundle.pkg", version: "1.0.0" });
        await Deno.mkdir(join(work.path, "publisher"));
        const published = await ggen(["publish", pkg], { home: join(work.path, "publisher"), env, main });
        assert.equal(published.code, 0, published.stderr);
        const found = await ggen(["search", "io.bundle", "--json"], { home: join(work.path, "publisher"), env, main });
        assert.equal(found.code, 0, found.stderr);
        assert.match(found.stdout, /"id":"io\.bundle\.pkg"/);
        // The registry's web pages, with the README renderer inside the file
        const page = await fetch(`${server.url}/packages/io.bundle.pkg`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /ggen install io\.bundle\.pkg/);

        daemon = await startDaemon(join(work.path, "daemon"), { env, main });
        const runtimeDir = join(xdg.XDG_CACHE_HOME, "ggen", "runtime");
        assert.ok(
          [...Deno.readDirSync(runtimeDir)].every((e) => !e.name.startsWith("dashboard-")),
          "a daemon whose dashboard nobody opened has not loaded its page and files",
        );
        // The dashboard and the graph library it serves come from inside the file too, as a part
        // of its own the daemon loads when the dashboard is first opened
        const link = await ggen(["p2p", "ui", "--json"], { home: daemon.home, env, main });
        assert.equal(link.code, 0, link.stderr);
        const login = await fetch(JSON.parse(link.stdout.trim()).url, { redirect: "manual" });
        assert.equal(login.status, 303);
        await login.body?.cancel();
        const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
        const library = await fetch(new URL("/ui/cytoscape.mjs", login.url), { headers: { cookie } });
        assert.equal(library.status, 200);
        assert.ok((await library.text()).length > 100_000, "the graph library is served whole");
        const holder = join(work.path, "holder");
        await Deno.mkdir(holder);
        const held = await ggen(["install", "io.bundle.pkg"], { home: daemon.home, cwd: holder, env, main });
        assert.equal(held.code, 0, held.stderr);
        await server.stop();

        const client = join(work.path, "client");
        await Deno.mkdir(join(client, "home"), { recursive: true });
        const r = await ggen(["install", "io.bundle.pkg", "--json"], {
          home: join(client, "home"),
          cwd: client,
          env: { ...env, GGEN_BOOTSTRAP: daemon.addr, GGEN_MIN_SOURCES: "1" },
          main,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /"source":"p2p/);
        // The worker ran from the file the build embedded, written once to the user's cache for
        // each set of V8 flags that loaded it (this command's, the daemon's: each keeps its own
        // code cache); so did the registry's server side and the commands, kept out of the code
        // every start parses
        const runtime = [...Deno.readDirSync(runtimeDir)].map((e) => e.name);
        const filesOf = (part: string) => {
          const files = runtime.map((n) => new RegExp(`^${part}-([0-9a-f]{16})(\\.daemon|\\.serve)?\\.js$`).exec(n))
            .filter((m) => m !== null);
          assert.equal(new Set(files.map((m) => m[1])).size, 1, `${part}: one build's digest (${runtime.join(", ")})`);
          assert.equal(new Set(files.map((m) => m[2])).size, files.length, `${part}: one file per flag set`);
          return files.map((m) => m[2]?.slice(1) ?? "command").sort();
        };
        assert.deepEqual(filesOf("p2p_worker"), ["command", "daemon"]);
        assert.ok(filesOf("server").length > 0);
        assert.ok(filesOf("commands").includes("command"));
        assert.deepEqual(filesOf("dashboard"), ["daemon"]);
        // Every source Deno loads is Latin-1, which V8 keeps at one byte per character (one em
        // dash made it two for the whole file), and holds no table written one number per line
        // (V8 keeps 8 bytes per line of a script: kad-dht's 65,536-entry table alone was 0.5 MB)
        for (const file of [main, ...runtime.map((n) => join(runtimeDir, n))]) {
          const text = await Deno.readTextFile(file);
          const wide = /[\u0100-\u{10ffff}]/u.exec(text);
          assert.equal(wide, null, `${file} holds ${JSON.stringify(wide?.[0])} at ${wide?.index}`);
          assert.doesNotMatch(text, /\[\n(?:[ \t]*[\d.e-]+,\n){255}/, `${file} holds a table one number per line`);
        }
      } finally {
        await daemon?.stop();
        await server.stop().catch(() => {});
      }
    },
  );

  await recordFigure(
    "bundle",
    `dist/ggen.js (${(size / 1024 / 1024).toFixed(1)} MiB, built offline) alone: --version, the demo, registry ` +
      "serve and its web pages, publish, a daemon holding the package and its dashboard, central stopped and a " +
      "fresh install from the peer",
  );
});
