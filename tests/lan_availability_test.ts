/**
 * Central down, nothing lost, on a LAN (issue 13, measured in the suite): 12 daemons in hybrid
 * mode; packages published to central the normal way; three daemons install each (so they hold
 * and re-share it); central stops; a third of the daemons are killed (never every holder of a
 * package). Every package must then install on fresh clients by id (default min_sources, no
 * registry key) and from a committed ggen.lock, bytes verified. Real central, real daemons, real
 * CLI; nothing mocked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freshMachine, startCentral } from "./central_helpers.ts";
import { recordFigure } from "./figures.ts";
import { ggen, jsonLines, tempDir } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

const DAEMONS = 12;
const PACKAGES = 4;

Deno.test("LAN availability: 12 daemons, central down, a third killed: every package installs by id and by lock", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  const { env } = central;
  const daemons: Daemon[] = [];
  try {
    const ids = Array.from({ length: PACKAGES }, (_, k) => `io.lan.pkg${k}`);
    for (const id of ids) await central.publish(id);
    // Daemons bootstrap to the first two (which will die: the survivors must not depend on them)
    for (let i = 0; i < DAEMONS; i++) {
      const bootstrap = daemons.slice(0, 2).map((d) => d.addr);
      daemons.push(await startDaemon(join(work.path, `d${i}`), { bootstrap, env }));
    }
    // Package k is installed by daemons k, k+4 and k+8; daemons 0-3 die later, so two holders stay
    const holderProjects: string[] = [];
    for (const [k, id] of ids.entries()) {
      for (const i of [k, k + 4, k + 8]) {
        const project = join(work.path, `d${i}-project-${k}`);
        await Deno.mkdir(project);
        const r = await ggen(["install", id], { home: daemons[i]!.home, cwd: project, env });
        assert.equal(r.code, 0, r.stderr);
        if (i === k + 8) holderProjects.push(project);
      }
    }

    await central.stop();
    const killed = daemons.slice(0, 4);
    for (const d of killed) d.kill("SIGKILL");
    await Promise.all(killed.map((d) => d.child.status));
    const survivors = daemons.slice(4);

    const times: number[] = [];
    let byId = 0;
    for (const [k, id] of ids.entries()) {
      const fresh = await freshMachine(work.path, `fresh-${k}`);
      // Each client knows one survivor that does not hold this package (daemon j + 4 holds package j % 4)
      const entry = survivors.find((_, j) => j % 4 !== k) ?? survivors[0]!;
      const t0 = performance.now();
      const r = await ggen(["install", id, "--json"], {
        home: fresh.home,
        cwd: fresh.project,
        env: { ...env, GGEN_BOOTSTRAP: entry.addr, GGEN_TIMEOUT_SECS: "1" },
      });
      times.push(performance.now() - t0);
      assert.equal(r.code, 0, `${id}: ${r.stderr}`);
      assert.match(jsonLines<{ source: string }>(r.stdout)[0]?.source ?? "", /^p2p:/);
      byId++;
    }
    let byLock = 0;
    for (const [k, project] of holderProjects.entries()) {
      const clone = await freshMachine(work.path, `clone-${k}`, await Deno.readTextFile(join(project, "ggen.lock")));
      const r = await ggen(["install", "--locked"], {
        home: clone.home,
        cwd: clone.project,
        env: { ...env, GGEN_BOOTSTRAP: survivors.at(-1 - k)!.addr, GGEN_TIMEOUT_SECS: "1" },
      });
      assert.equal(r.code, 0, `${ids[k]} from the lock: ${r.stderr}`);
      byLock++;
    }
    times.sort((a, b) => a - b);
    await recordFigure(
      "lan-availability",
      `${DAEMONS} daemons, ${PACKAGES} packages published to central and installed by 3 daemons each; central ` +
        `stopped and 4 daemons killed: ${byId}/${PACKAGES} installed by id on fresh clients (median ${
          (times[Math.floor(times.length / 2)]! / 1000).toFixed(1)
        } s as a whole CLI run), ${byLock}/${PACKAGES} restored from a committed lock, bytes verified`,
    );
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await central.stop();
  }
});
