/**
 * The persistent metadata cache, `--offline` and `--prefer-offline` (issue 13, item 2): central's
 * signed documents are kept on disk by the command that fetched them, so with central gone a
 * later command installs from the caches. `--offline` never opens a connection (checked with
 * listeners that count them) and names what is missing. Whole CLI runs are timed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { recordFigure } from "./figures.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";

/** A listener that counts the connections it gets and answers none */
function countingListener() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const held: Deno.Conn[] = [];
  const done = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        held.push(conn);
      }
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    async close() {
      listener.close();
      for (const c of held) c.close();
      await done;
    },
  };
}

Deno.test("offline: central's signed documents are kept; --offline installs and searches without a connection", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  const central = countingListener();
  const peer = countingListener();
  let serverUp = true;
  try {
    const { token } = await createToken(server.metadata);
    const home = join(work.path, "home");
    await Deno.mkdir(home);
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.offline.pkg", version: "1.0.0" });
    await Deno.mkdir(join(work.path, "publisher"));
    assert.equal((await ggen(["publish", pkg], { home: join(work.path, "publisher"), env })).code, 0);
    const project = async (name: string) => {
      const dir = join(work.path, name);
      await Deno.mkdir(dir);
      return dir;
    };

    // Online once: the document is verified, then kept
    const first = await ggen(["install", "io.offline.pkg", "--json"], { home, cwd: await project("p1"), env });
    assert.equal(first.code, 0, first.stderr);
    const kept = JSON.parse(await Deno.readTextFile(join(home, "metadata", "io.offline.pkg.json")));
    assert.ok(kept.metadata_signature, "the cached document lost the registry's signature");

    await server.stop();
    serverUp = false;
    // Offline: central and the only bootstrap peer are listeners that count connections
    const offlineEnv = {
      GGEN_REGISTRY: `http://127.0.0.1:${central.port}`,
      GGEN_BOOTSTRAP: `/ip4/127.0.0.1/tcp/${peer.port}/p2p/12D3KooWHqnXo6k5QDJEcPF8bGVfAu9xoHgFVCGfz7Qfcw3DrtS9`,
    };
    const t0 = performance.now();
    const offline = await ggen(["install", "io.offline.pkg", "--offline", "--json"], {
      home,
      cwd: await project("p2"),
      env: offlineEnv,
    });
    const installMs = performance.now() - t0;
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(jsonLines<{ source: string }>(offline.stdout)[0]?.source, "cache");
    await Deno.stat(join(work.path, "p2", ".ggen", "packages", "io.offline.pkg", "1.0.0", "ggen.toml"));

    // In a subdirectory the project is found upward, like cargo
    const sub = join(work.path, "p2", "src", "deep");
    await Deno.mkdir(sub, { recursive: true });
    const listed = await ggen(["list", "--json"], { home, cwd: sub, env: offlineEnv });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(jsonLines<{ id: string }>(listed.stdout).map((p) => p.id), ["io.offline.pkg"]);
    const verified = await ggen(["verify"], { home, cwd: sub, env: offlineEnv });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /All 1 locked packages match/);

    const t1 = performance.now();
    const search = await ggen(["search", "offline", "--offline", "--json"], { home, env: offlineEnv });
    const searchMs = performance.now() - t1;
    assert.equal(search.code, 0, search.stderr);
    assert.deepEqual(jsonLines<{ id: string }>(search.stdout).map((h) => h.id), ["io.offline.pkg"]);

    const missing = await ggen(["install", "io.offline.other", "--offline"], {
      home,
      cwd: await project("p3"),
      env: offlineEnv,
    });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /"io\.offline\.other" is not in the metadata cache/);
    assert.equal(central.accepted() + peer.accepted(), 0, "--offline opened a connection");

    // Hybrid, central refusing connections: the kept document answers before any peer is asked
    const hybrid = await ggen(["install", "io.offline.pkg", "--json"], {
      home,
      cwd: await project("p4"),
      env: { GGEN_REGISTRY: server.url, GGEN_MDNS: "0" },
    });
    assert.equal(hybrid.code, 0, hybrid.stderr);

    await recordFigure(
      "offline",
      `central stopped: \`install --offline\` of a cached package ${
        installMs.toFixed(0)
      } ms and \`search --offline\` ` +
        `${searchMs.toFixed(0)} ms as whole CLI runs, 0 connections opened; a package never fetched is refused ` +
        "naming the metadata cache; hybrid mode with central refusing installs from the kept document",
    );
  } finally {
    await central.close();
    await peer.close();
    if (serverUp) await server.stop();
  }
});
