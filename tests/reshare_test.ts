/**
 * Central down, nothing lost (issue 13, item 1 in part): a daemon that fetched a package from
 * central re-shares what the publisher signed (version record, catalog announcement) besides
 * the bytes, so a fresh client that reaches only another peer resolves id -> version ->
 * sha256 and installs with central gone. Real central server, real daemons, real CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { createCentralRegistry } from "../src/registry/client/mod.ts";
import { recordFigure } from "./figures.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";
import { freshMachine, startCentral } from "./central_helpers.ts";
import { type Daemon, startDaemon, waitForCatalog } from "./p2p_helpers.ts";

Deno.test("central down: a package a daemon fetched from central installs from peers, with its signed metadata", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  const daemons: Daemon[] = [];
  let serverUp = true;
  try {
    const { token } = await createToken(server.metadata);
    const publisher = join(work.path, "publisher");
    await Deno.mkdir(publisher);
    // Two daemons: a LAN this small lowers min_sources (README), else first use needs 3 peers
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, GGEN_MIN_SOURCES: "1" };
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.reshare.pkg", version: "1.0.0" });
    assert.equal((await ggen(["publish", pkg], { home: publisher, env })).code, 0);

    const holder = await startDaemon(join(work.path, "holder"), { env });
    daemons.push(holder);
    const relay = await startDaemon(join(work.path, "relay"), { bootstrap: [holder.addr], env });
    daemons.push(relay);

    // The holder installs from central (the normal way); its daemon re-shares
    const project = join(work.path, "holder-project");
    await Deno.mkdir(project);
    const fetched = await ggen(["install", "io.reshare.pkg", "--json"], { home: holder.home, cwd: project, env });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(jsonLines<{ source: string }>(fetched.stdout)[0]?.source, "central");
    // The relay hears the announcement over gossipsub (bounded wait on the event)
    assert.ok(await waitForCatalog(relay.home) > 0, "the relay never heard the announcement");

    await server.stop();
    serverUp = false;
    // A fresh client that knows only the relay, central gone
    const client = join(work.path, "client");
    const clientProject = join(work.path, "client-project");
    await Deno.mkdir(client);
    await Deno.mkdir(clientProject);
    const started = performance.now();
    const r = await ggen(["install", "io.reshare.pkg", "--json"], {
      home: client,
      cwd: clientProject,
      env: { ...env, GGEN_BOOTSTRAP: relay.addr, GGEN_TIMEOUT_SECS: "2" },
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr);
    const source = jsonLines<{ source: string }>(r.stdout)[0]?.source;
    assert.equal(source, `p2p:${holder.peerId}`);
    await Deno.stat(join(clientProject, ".ggen", "packages", "io.reshare.pkg", "1.0.0", "templates", "file.tmpl"));
    // The holder's committed lock restores on a fresh machine, central still down: no metadata
    // is asked for, each locked sha256 comes from a LAN provider, the lock stays byte-identical
    const lock = await Deno.readTextFile(join(project, "ggen.lock"));
    const clone = join(work.path, "clone");
    const cloneHome = join(work.path, "clone-home");
    await Deno.mkdir(clone);
    await Deno.mkdir(cloneHome);
    await Deno.writeTextFile(join(clone, "ggen.lock"), lock);
    const restored = await ggen(["install", "--locked", "--json"], {
      home: cloneHome,
      cwd: clone,
      env: { ...env, GGEN_BOOTSTRAP: relay.addr, GGEN_TIMEOUT_SECS: "2" },
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await Deno.readTextFile(join(clone, "ggen.lock")), lock);
    await Deno.stat(join(clone, ".ggen", "packages", "io.reshare.pkg", "1.0.0", "templates", "file.tmpl"));
    await recordFigure(
      "lock-restore",
      "central down, a fresh machine with the committed ggen.lock: `ggen install --locked` installed every locked " +
        "package from LAN providers by its sha256, lock byte-identical",
    );
    await recordFigure(
      "reshare",
      `a package published to central and installed by one daemon; central stopped; a fresh client bootstrapped to ` +
        `another daemon installed it from ${source === `p2p:${holder.peerId}` ? "the holder" : source} in ` +
        `${seconds.toFixed(1)} s (publisher signature verified, pinned on first use)`,
    );
  } finally {
    for (const d of daemons.reverse()) await d.stop();
    if (serverUp) await server.stop();
  }
});

Deno.test("central down, registry key pinned: a re-shared registry document outranks a squatter's versions", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  const { env } = central;
  const daemons: Daemon[] = [];
  try {
    await central.publish("io.auth.pkg");
    const registryKey = (await createCentralRegistry({ logger: silentLogger }, { url: env.GGEN_REGISTRY })
      .registryKey()).public_key;

    // The holder installs from central; its daemon serves the registry's signed document
    const holder = await startDaemon(join(work.path, "holder"), { env });
    daemons.push(holder);
    const project = join(work.path, "holder-project");
    await Deno.mkdir(project);
    const fetched = await ggen(["install", "io.auth.pkg"], { home: holder.home, cwd: project, env });
    assert.equal(fetched.code, 0, fetched.stderr);
    // A squatter signs a higher version of the same id with its own key and publishes it to peers
    const squatter = await startDaemon(join(work.path, "squatter"), { bootstrap: [holder.addr] });
    daemons.push(squatter);
    const fake = await writePackage(join(work.path, "fake"), { id: "io.auth.pkg", version: "9.9.9" });
    assert.equal((await ggen(["publish", "--p2p", fake], { home: squatter.home })).code, 0);

    await central.stop();
    const peersEnv = { ...env, GGEN_BOOTSTRAP: `${holder.addr},${squatter.addr}`, GGEN_TIMEOUT_SECS: "2" };
    const install = async (machine: { home: string; project: string }) =>
      await ggen(["install", "io.auth.pkg", "--json"], { home: machine.home, cwd: machine.project, env: peersEnv });
    // A fresh client that knows the registry's key from its config (as a company would ship it)
    const configured = await freshMachine(work.path, "configured");
    await Deno.writeTextFile(join(configured.home, "config.toml"), `[registry]\npublic_key = "${registryKey}"\n`);
    // A fresh clone with no configuration: the holder's committed lock names the registry's key
    const lock = await Deno.readTextFile(join(project, "ggen.lock"));
    assert.match(lock, /\[registry\]/);
    const clone = await freshMachine(work.path, "clone", lock);
    for (const machine of [configured, clone]) {
      const r = await install(machine);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines<{ version: string }>(r.stdout)[0]?.version, "1.0.0");
      assert.match(r.stderr, /the registry's signed document, re-shared by peer/);
    }
    // Without the key, a fresh client sees two signers for one id and refuses, naming both
    const refused = await install(await freshMachine(work.path, "unpinned"));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /signed by different keys|min_sources/);
    await recordFigure(
      "registry-authority",
      "central down; the owner's 1.0.0 held by one daemon, a squatter's 9.9.9 of the same id signed by another key: " +
        "a client with the registry key in its config, and a fresh clone whose committed ggen.lock names the key, " +
        "installed 1.0.0 from the re-shared registry-signed document (no min_sources needed); without the key the " +
        "client refused, naming the conflict",
    );
  } finally {
    for (const d of daemons.reverse()) await d.stop();
    await central.stop();
  }
});

Deno.test("central down: a client's daemon fetches from the connected holder its catalog named, with no provider lookup", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  const daemons: Daemon[] = [];
  let serverUp = true;
  try {
    const { token } = await createToken(server.metadata);
    // min_sources stays 3: the two relays and the holder vouch, so resolving needs no lookup either
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.reshare.hint", version: "1.0.0" });
    await Deno.mkdir(join(work.path, "publisher"));
    assert.equal((await ggen(["publish", pkg], { home: join(work.path, "publisher"), env })).code, 0);
    const holder = await startDaemon(join(work.path, "holder"), { env });
    daemons.push(holder);
    const relays = [
      await startDaemon(join(work.path, "relay1"), { bootstrap: [holder.addr], env }),
      await startDaemon(join(work.path, "relay2"), { bootstrap: [holder.addr], env }),
    ];
    daemons.push(...relays);
    const own = await startDaemon(join(work.path, "own"), {
      bootstrap: [holder.addr, ...relays.map((d) => d.addr)],
      env,
      args: ["--metrics", "127.0.0.1:0"],
    });
    daemons.push(own);
    const held = join(work.path, "held");
    await Deno.mkdir(held);
    assert.equal((await ggen(["install", "io.reshare.hint"], { home: holder.home, cwd: held, env })).code, 0);
    // Both relays hear the holder's announcement over gossipsub (bounded wait on the event)
    for (const relay of relays) assert.ok(await waitForCatalog(relay.home) > 0, "a relay never heard the announcement");
    await server.stop();
    serverUp = false;

    // The developer's own daemon runs and holds nothing: the install asks it, central refused
    const project = join(work.path, "project");
    await Deno.mkdir(project);
    const r = await ggen(["install", "io.reshare.hint", "--json"], { home: own.home, cwd: project, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, `p2p:${holder.peerId}`);
    // Three peers returned the signed entry and the holder named itself: no lookup at all
    const metrics = await (await fetch(String(own.info.metrics))).text();
    const lookups = metrics.split("\n").filter((l) =>
      l.startsWith("ggen_p2p_dht_lookups_total{") && l.includes("providers")
    );
    assert.deepEqual(lookups.map((l) => Number(l.split(" ").at(-1))).filter((n) => n > 0), [], lookups.join("\n"));
    await recordFigure(
      "catalog-holders",
      "central down, a client whose daemon is connected to the holder: the holder's own catalog answer named it, " +
        "the download went to it with no provider lookup (DHT provider lookups: 0)",
    );
  } finally {
    for (const d of daemons.reverse()) await d.stop();
    if (serverUp) await server.stop();
  }
});
