/**
 * The P2P network with real nodes on loopback: separate `ggen p2p start` processes, the real
 * CLI as a client, real libp2p sockets.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../src/core/digest.ts";
import { ggen, jsonLines, randomBytes, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";
import { type FaultProxy, startFaultProxy, tcpTarget } from "./fault_proxy.ts";

async function retry<T>(times: number, fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last!: T;
  for (let i = 0; i < times; i++) {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

Deno.test("p2p: a package published on one node of 10 is found and installed several hops away", async () => {
  await using work = await tempDir();

  const daemons: Daemon[] = [];
  try {
    // A line: node i only knows node i-1, so node 9 is 9 hops from node 0 before the DHT fills in
    for (let i = 0; i < 10; i++) {
      daemons.push(await startDaemon(join(work.path, `n${i}`), { bootstrap: i ? [daemons[i - 1]!.addr] : [] }));
    }
    await writePackage(join(work.path, "pkg"), { id: "io.p2p.hops", version: "1.0.0", description: "Hop test" });
    const pub = await ggen(["publish", "--p2p", join(work.path, "pkg"), "--json"], { home: daemons[0]!.home });
    assert.equal(pub.code, 0, pub.stderr);
    const project = join(work.path, "project");
    await Deno.mkdir(project);
    const last = daemons[9]!;
    const install = await retry(
      5,
      () => ggen(["install", "--p2p", "io.p2p.hops", "--json"], { home: last.home, cwd: project }),
      (r) => r.code === 0,
    );
    assert.equal(install.code, 0, install.stderr);
    const [locked] = jsonLines<{ id: string; source: string }>(install.stdout);
    assert.equal(locked?.source, `p2p:${daemons[0]!.peerId}`);
    const file = await Deno.readTextFile(join(project, ".ggen/packages/io.p2p.hops/1.0.0/templates/file.tmpl"));
    assert.match(file, /io\.p2p\.hops@1\.0\.0/);
    // the announcement reached the far end's catalog
    const search = await retry(
      5,
      () => ggen(["search", "--p2p", "hop", "--json"], { home: last.home }),
      (r) => r.stdout.includes("io.p2p.hops"),
    );
    assert.equal(jsonLines<{ id: string }>(search.stdout)[0]?.id, "io.p2p.hops");
    const status = await ggen(["p2p", "status", "--json"], { home: last.home });
    const s = jsonLines<{
      daemon: boolean;
      peer_count: number;
      routing_table_size: number;
      bytes_in: number;
      network: { bytes_in: number; protocols: Record<string, { bytes_in: number }> };
    }>(status.stdout)[0]!;
    assert.equal(s.daemon, true);
    assert.ok(s.peer_count >= 1 && s.routing_table_size >= 1);
    assert.ok(s.bytes_in > 0);
    // libp2p's counts, without Prometheus: the fetch stream carried the package and its header
    assert.ok(s.network.protocols["/ggen/fetch/1.0.0"]!.bytes_in > s.bytes_in, JSON.stringify(s.network));
    assert.ok(s.network.bytes_in > s.network.protocols["/ggen/fetch/1.0.0"]!.bytes_in);
    const peers = await ggen(["p2p", "peers", "--json"], { home: last.home });
    assert.ok(jsonLines<{ source: string }>(peers.stdout).some((p) => p.source === "bootstrap"));
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
  }
});

Deno.test("p2p: corrupt bytes are rejected, a restarted node keeps its PeerId and serves the install", async () => {
  await using work = await tempDir();

  const daemons: Daemon[] = [];
  try {
    const pkgDir = await writePackage(join(work.path, "pkg"), {
      id: "io.p2p.trust",
      version: "1.0.0",
      extra: "x".repeat(5000),
    });
    // The evil node holds a corrupted copy under the right name, and provides it on start
    const honestHome = join(work.path, "honest");
    const evilHome = join(work.path, "evil");
    await Deno.mkdir(honestHome);
    const packed = await ggen(["pack", pkgDir, "--out", join(work.path, "p.tar.gz"), "--json"], { home: honestHome });
    const { sha256 } = jsonLines<{ sha256: string }>(packed.stdout)[0]!;
    const bytes = await Deno.readFile(join(work.path, "p.tar.gz"));
    const corrupt = bytes.slice();
    corrupt[corrupt.length >> 1]! ^= 0xff;
    assert.notEqual(sha256Hex(corrupt), sha256);
    await Deno.mkdir(join(evilHome, "cache", "sha256"), { recursive: true });
    await Deno.writeFile(join(evilHome, "cache", "sha256", sha256), corrupt);
    const evil = await startDaemon(evilHome);
    daemons.push(evil);
    let honest = await startDaemon(honestHome, { bootstrap: [evil.addr] });
    daemons.push(honest);
    const firstPeerId = honest.peerId;
    assert.equal((await ggen(["publish", "--p2p", pkgDir], { home: honestHome })).code, 0);
    await honest.stop();

    const clientHome = join(work.path, "client");
    const project = join(work.path, "project");
    await Deno.mkdir(project, { recursive: true });
    // Two peers: a LAN this small lowers min_sources (README), else first use needs 3 peers
    const env = { GGEN_BOOTSTRAP: evil.addr, GGEN_P2P_TIMEOUT_SECS: "5", GGEN_MIN_SOURCES: "1" };
    const onlyEvil = await ggen(["install", "--p2p", "io.p2p.trust"], { home: clientHome, cwd: project, env });
    assert.equal(onlyEvil.code, 1, onlyEvil.stdout);
    assert.match(onlyEvil.stderr, new RegExp(`rejected bytes from p2p:${evil.peerId}: Checksum mismatch`));
    await assert.rejects(Deno.stat(join(project, "ggen.lock")), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(join(project, ".ggen/packages/io.p2p.trust")), Deno.errors.NotFound);

    honest = await startDaemon(honestHome, { bootstrap: [evil.addr] });
    daemons.push(honest);
    assert.equal(honest.peerId, firstPeerId, "a restarted node keeps its PeerId");
    // The client banned the evil peer after its wrong bytes, so it joins through the honest one now
    const env2 = { ...env, GGEN_BOOTSTRAP: `${evil.addr},${honest.addr}` };
    const ok = await retry(
      5,
      () => ggen(["install", "--p2p", "io.p2p.trust", "--json"], { home: clientHome, cwd: project, env: env2 }),
      (r) => r.code === 0,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(jsonLines<{ source: string }>(ok.stdout)[0]?.source, `p2p:${honest.peerId}`);
    const installed = await Deno.readTextFile(join(project, ".ggen/packages/io.p2p.trust/1.0.0/templates/file.tmpl"));
    assert.match(installed, /io\.p2p\.trust@1\.0\.0/);
    assert.equal(sha256Hex(await Deno.readFile(join(clientHome, "cache", "sha256", sha256))), sha256);
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
  }
});

Deno.test("p2p: a provider killed mid-transfer fails over to the next provider", async () => {
  await using work = await tempDir();

  const daemons: Daemon[] = [];
  const proxies: FaultProxy[] = [];
  try {
    const pkg = join(work.path, "pkg");
    await writePackage(pkg, { id: "io.p2p.big", version: "1.0.0" });
    const data = randomBytes(4 * 1024 * 1024);
    await Deno.writeFile(join(pkg, "templates", "blob.bin"), data);
    for (let i = 0; i < 2; i++) {
      daemons.push(await startDaemon(join(work.path, `p${i}`), { bootstrap: i ? [daemons[0]!.addr] : [] }));
      assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemons[i]!.home })).code, 0);
    }
    // The client reaches each provider only through a proxy throttled to 2 MB/s, so a transfer
    // is still running when the test kills whichever provider serves it
    const bootstrap = daemons.map((d) => {
      const t = tcpTarget(d.addr);
      const proxy = startFaultProxy(t, { bytesPerSecond: 2 * 1024 * 1024 });
      proxies.push(proxy);
      return `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${t.peerId}`;
    });
    const project = join(work.path, "project");
    await Deno.mkdir(project);
    const install = ggen(["install", "--p2p", "io.p2p.big", "--json", "-v"], {
      home: join(work.path, "client"),
      cwd: project,
      // a handful of providers: min_sources lowered as a small LAN would (README)
      env: { GGEN_BOOTSTRAP: bootstrap.join(","), GGEN_MIN_SOURCES: "1" },
    });
    let killed = -1;
    const deadline = Date.now() + 60_000;
    while (killed < 0 && Date.now() < deadline) {
      const serving = proxies.findIndex((p) => p.downstreamBytes > 1024 * 1024);
      if (serving >= 0) {
        daemons[serving]!.kill("SIGKILL");
        killed = serving;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(killed >= 0, "no provider started serving");
    const r = await install;
    assert.equal(r.code, 0, r.stderr);
    const survivor = daemons[1 - killed]!;
    const source = jsonLines<{ source: string }>(r.stdout)[0]?.source ?? "";
    // One source at a time: the download restarts from the survivor. Several at once (a blob over
    // 4 MiB, two providers): the killed provider's pieces go to the survivor within the download
    if (source.includes(",")) {
      assert.ok(source.includes(survivor.peerId), source);
      assert.match(r.stderr, new RegExp(`piece \\d+ from ${daemons[killed]!.peerId} failed`));
    } else {
      assert.equal(source, `p2p:${survivor.peerId}`);
      assert.match(r.stderr, new RegExp(`rejected bytes from p2p:${daemons[killed]!.peerId}`));
    }
    const installed = await Deno.readFile(join(project, ".ggen/packages/io.p2p.big/1.0.0/templates/blob.bin"));
    assert.equal(sha256Hex(installed), sha256Hex(data));
  } finally {
    for (const p of proxies) p.close();
    await Promise.all(daemons.map((d) => d.stop()));
  }
});

Deno.test("p2p: a provider that stalls mid-transfer times out and the next provider serves", async () => {
  await using work = await tempDir();

  const daemons: Daemon[] = [];
  const proxies: FaultProxy[] = [];
  try {
    const pkg = await writePackage(join(work.path, "pkg"), {
      id: "io.p2p.stall",
      version: "1.0.0",
    });
    const random = randomBytes(1024 * 1024);
    await Deno.writeFile(join(pkg, "templates", "random.bin"), random);
    for (let i = 0; i < 2; i++) {
      daemons.push(await startDaemon(join(work.path, `p${i}`), { bootstrap: i ? [daemons[0]!.addr] : [] }));
      assert.equal((await ggen(["publish", "--p2p", pkg], { home: daemons[i]!.home })).code, 0);
    }
    const bootstrap = daemons.map((d) => {
      const t = tcpTarget(d.addr);
      const proxy = startFaultProxy(t, {});
      proxies.push(proxy);
      return `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${t.peerId}`;
    });
    const project = join(work.path, "project");
    await Deno.mkdir(project);
    // Slow both paths down, then silence whichever provider starts serving: its connection stays
    // open and quiet, which only the stall timer can detect
    for (const p of proxies) p.faults = { bytesPerSecond: 256 * 1024 };
    const install = ggen(["install", "--p2p", "io.p2p.stall", "--json", "-v"], {
      home: join(work.path, "client"),
      cwd: project,
      env: { GGEN_BOOTSTRAP: bootstrap.join(","), GGEN_P2P_TIMEOUT_SECS: "10", GGEN_MIN_SOURCES: "1" },
    });
    let stalled = -1;
    const deadline = Date.now() + 60_000;
    while (stalled < 0 && Date.now() < deadline) {
      const serving = proxies.findIndex((p) => p.downstreamBytes > 100_000);
      if (serving >= 0) {
        proxies[serving]!.faults = { blackHole: true };
        proxies[1 - serving]!.faults = {};
        stalled = serving;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (stalled < 0) assert.fail(`no provider started serving: ${(await install).stderr}`);
    const r = await install;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines<{ source: string }>(r.stdout)[0]?.source, `p2p:${daemons[1 - stalled]!.peerId}`);
    assert.match(r.stderr, /stalled: no data for \d+ ms/);
    await recordFigure("stalling-providers", "a stalling provider timed out and the next provider served the install");
  } finally {
    for (const p of proxies) p.close();
    await Promise.all(daemons.map((d) => d.stop()));
  }
});
