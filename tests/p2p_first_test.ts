/**
 * Mode `p2p-first` (issue 13, item 7): metadata from central, bytes from LAN peers first and
 * from central only for what no peer provides. Real central, real daemon, real CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { recordFigure } from "./figures.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

Deno.test("p2p-first: bytes a LAN peer holds come from it; the rest from central", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  let daemon: Daemon | undefined;
  try {
    const { token } = await createToken(server.metadata);
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
    const publisher = join(work.path, "publisher");
    await Deno.mkdir(publisher);
    for (const id of ["io.pf.held", "io.pf.central"]) {
      const pkg = await writePackage(join(work.path, id), { id, version: "1.0.0" });
      assert.equal((await ggen(["publish", pkg], { home: publisher, env })).code, 0);
    }
    daemon = await startDaemon(join(work.path, "daemon"), { env });
    const held = join(work.path, "daemon-project");
    await Deno.mkdir(held);
    assert.equal((await ggen(["install", "io.pf.held"], { home: daemon.home, cwd: held, env })).code, 0);

    const home = join(work.path, "client");
    const project = join(work.path, "client-project");
    await Deno.mkdir(home);
    await Deno.mkdir(project);
    const clientEnv = { ...env, GGEN_MODE: "p2p-first", GGEN_BOOTSTRAP: daemon.addr };
    const fromPeer = await ggen(["install", "io.pf.held", "--json"], { home, cwd: project, env: clientEnv });
    assert.equal(fromPeer.code, 0, fromPeer.stderr);
    assert.equal(jsonLines<{ source: string }>(fromPeer.stdout)[0]?.source, `p2p:${daemon.peerId}`);
    const fromCentral = await ggen(["install", "io.pf.central", "--json"], { home, cwd: project, env: clientEnv });
    assert.equal(fromCentral.code, 0, fromCentral.stderr);
    const sources = jsonLines<{ id: string; source: string }>(fromCentral.stdout);
    assert.equal(sources.find((s) => s.id === "io.pf.central")?.source, "central");
    await recordFigure(
      "p2p-first",
      "p2p-first: a package a LAN daemon held came from that peer (central served only its metadata); a package " +
        "no peer held came from central",
    );
  } finally {
    await daemon?.stop();
    await server.stop();
  }
});
