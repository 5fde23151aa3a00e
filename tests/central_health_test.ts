/**
 * A central registry that accepts connections and never answers (issue 13, item 4): with default
 * settings the hedge asks peers after a few hundred milliseconds instead of waiting for three
 * timeouts, and the breaker's state outlives the command, so the next command goes to peers at
 * once and says why. Measured against a pure P2P install of the same package in the same run.
 * Real daemon, real CLI, a black-hole TCP server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { recordFigure } from "./figures.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

Deno.test("central black-holed: the hedge goes to peers within a second, the next command at once", async () => {
  await using work = await tempDir();
  const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  let accepted = 0;
  const accepting = (async () => {
    try {
      for await (const conn of hole) {
        accepted++;
        held.push(conn); // read nothing, answer nothing
      }
    } catch {
      // closed
    }
  })();
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon(join(work.path, "daemon"));
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.health.pkg", version: "1.0.0" });
    assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemon.home })).code, 0);
    const home = join(work.path, "client");
    await Deno.mkdir(home);
    const env = {
      GGEN_REGISTRY: `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}`,
      GGEN_BOOTSTRAP: daemon.addr,
      // one daemon: a LAN this small lowers min_sources (README)
      GGEN_MIN_SOURCES: "1",
    };
    const install = async (name: string, flags: string[] = [], clientHome = home) => {
      const project = join(work.path, name);
      await Deno.mkdir(project);
      const started = performance.now();
      const r = await ggen(["install", "io.health.pkg", "--json", ...flags], { home: clientHome, cwd: project, env });
      assert.equal(r.code, 0, r.stderr);
      // The metadata comes from the peer; the bytes from the peer, or the cache the first install filled
      assert.match(jsonLines<{ source: string }>(r.stdout)[0]?.source ?? "", /^(p2p:|cache$)/);
      return { r, seconds: (performance.now() - started) / 1000 };
    };
    // The baseline: a pure P2P install on another fresh client, central never asked
    const p2pHome = join(work.path, "p2p-client");
    await Deno.mkdir(p2pHome);
    const pure = await install("pure", ["--p2p"], p2pHome);
    const first = await install("first");
    assert.match(first.r.stderr, /central has not answered in \d+ ms: asking the next backend in parallel/);
    const afterFirst = accepted;
    assert.ok(afterFirst > 0, "the first command tried central");
    const second = await install("second");
    assert.equal(accepted, afterFirst, "the second command did not try central again");
    assert.match(second.r.stderr, /central was unreachable moments ago: using the next backend/);
    const figure =
      `central accepting and never answering, default settings: a pure P2P install took ${
        pure.seconds.toFixed(1)
      } s; the first hybrid install ${first.seconds.toFixed(1)} s (hedged to peers, ${afterFirst} connection(s) to ` +
      `central); the next ${second.seconds.toFixed(1)} s with no connection to central`;
    console.log(`  ${figure}`);
    await recordFigure("central-health", figure);
  } finally {
    await daemon?.stop();
    hole.close();
    for (const c of held) c.close();
    await accepting;
  }
});
