/**
 * Downloads spread over several providers. Real daemons, real CLI processes on loopback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

Deno.test("p2p: downloads spread across several providers and are verified", async () => {
  await using work = await tempDir();
  const daemons: Daemon[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      daemons.push(await startDaemon(join(work.path, `p${i}`), { bootstrap: i ? [daemons[0]!.addr] : [] }));
    }
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.spread.pkg", version: "1.0.0" });
    // One publisher (one key) and three holders: each daemon publishes the same signed package
    assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemons[0]!.home })).code, 0);
    for (const d of daemons.slice(1)) {
      await Deno.mkdir(join(d.home, "keys"), { recursive: true });
      for await (const e of Deno.readDir(join(daemons[0]!.home, "keys"))) {
        await Deno.copyFile(join(daemons[0]!.home, "keys", e.name), join(d.home, "keys", e.name));
      }
      assert.equal((await ggen(["publish", "--p2p", pkg], { home: d.home })).code, 0);
    }
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
