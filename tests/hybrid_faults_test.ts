/**
 * Hybrid fallback under central failures (black hole, 5xx, refused) and downloads spread over
 * several providers. Real servers, real daemons, real CLI processes on loopback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

/** A TCP server that accepts and never answers */
function blackHole(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  void (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    close() {
      listener.close();
      for (const c of held) c.close();
    },
  };
}

Deno.test("hybrid: central black hole, 5xx and refused all fall back to P2P", async (t) => {
  await using work = await tempDir();
  const daemon = await startDaemon(join(work.path, "peer"));
  const hole = blackHole();
  const failing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("down", { status: 503 }),
  );
  try {
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.fault.pkg", version: "1.0.0" });
    assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemon.home })).code, 0);
    const cases: [string, string, Record<string, string>, RegExp][] = [
      ["black hole (timeouts retried 3 times)", hole.url, { GGEN_TIMEOUT_SECS: "0.5" }, /retry 3\/3/],
      ["HTTP 503", `http://127.0.0.1:${failing.addr.port}`, {}, /answered 503/],
      ["connection refused", "http://127.0.0.1:9", {}, /Cannot reach central registry/],
    ];
    for (const [name, url, extra, pattern] of cases) {
      await t.step(name, async () => {
        const project = join(work.path, name.replaceAll(/\W+/g, "-"));
        await Deno.mkdir(project);
        const started = performance.now();
        const r = await ggen(["install", "io.fault.pkg", "--json", "-v"], {
          home: join(project, "home"),
          cwd: project,
          env: { GGEN_REGISTRY: url, GGEN_BOOTSTRAP: daemon.addr, ...extra },
        });
        const seconds = (performance.now() - started) / 1000;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, pattern);
        assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, `p2p:${daemon.peerId}`);
        console.log(`  ${name}: fell back to P2P, install took ${seconds.toFixed(2)} s`);
      });
    }
  } finally {
    hole.close();
    await failing.shutdown();
    await daemon.stop();
  }
});

Deno.test("p2p: downloads spread across several providers and are verified", async () => {
  await using work = await tempDir();
  const daemons: Daemon[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      daemons.push(await startDaemon(join(work.path, `p${i}`), { bootstrap: i ? [daemons[0]!.addr] : [] }));
    }
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.spread.pkg", version: "1.0.0" });
    for (const d of daemons) assert.equal((await ggen(["publish", "--p2p", pkg], { home: d.home })).code, 0);
    const sources = new Set<string>();
    for (let i = 0; i < 8 && sources.size < 2; i++) {
      const project = join(work.path, `client${i}`);
      await Deno.mkdir(project);
      const r = await ggen(["install", "--p2p", "io.spread.pkg", "--json"], {
        home: join(project, "home"),
        cwd: project,
        env: { GGEN_BOOTSTRAP: daemons[i % 3]!.addr },
      });
      assert.equal(r.code, 0, r.stderr);
      sources.add(jsonLines<{ source: string }>(r.stdout)[0]!.source);
    }
    assert.ok(sources.size >= 2, `all downloads came from one provider: ${[...sources]}`);
    for (const s of sources) assert.ok(daemons.some((d) => s === `p2p:${d.peerId}`));
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
  }
});
