/**
 * `ggen p2p start --metrics`: a Prometheus endpoint beside the daemon, on 127.0.0.1 unless told,
 * with libp2p's metrics (connections, kad-dht, gossipsub) and ggen's (peers, routing table,
 * fetches served with their bytes) counting what really happened: a client installs a package
 * from the daemon over P2P and the served figures move by exactly that.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";

/** The value of the first sample whose line matches */
function sample(text: string, line: RegExp): number | undefined {
  const found = text.split("\n").find((l) => !l.startsWith("#") && line.test(l));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

Deno.test("daemon metrics: Prometheus text with libp2p's and ggen's figures, moved by a real transfer", async () => {
  await using work = await tempDir();
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon(join(work.path, "peer"), { args: ["--metrics", "127.0.0.1:0"] });
    const url = String(daemon.info.metrics);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.metrics.pkg", version: "1.0.0" });
    const published = await ggen(["publish", "--p2p", pkg], { home: daemon.home });
    assert.equal(published.code, 0, published.stderr);

    const before = await (await fetch(url)).text();
    assert.equal(sample(before, /^ggen_p2p_fetches_served_total /), 0);

    const project = join(work.path, "project");
    await Deno.mkdir(project);
    const installed = await ggen(["install", "io.metrics.pkg", "--json"], {
      home: join(work.path, "client"),
      cwd: project,
      env: { GGEN_MODE: "p2p", GGEN_BOOTSTRAP: daemon.addr, GGEN_MIN_SOURCES: "1" },
    });
    assert.equal(installed.code, 0, installed.stderr);
    const { size } = await Deno.stat(join(daemon.home, "cache", "sha256", sha256Of(installed.stdout)));

    const res = await fetch(url);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const after = await res.text();
    assert.equal(sample(after, /^ggen_p2p_fetches_served_total /), 1);
    assert.equal(sample(after, /^ggen_p2p_fetch_bytes_sent_total /), size);
    assert.ok((sample(after, /^ggen_p2p_routing_table_size /) ?? -1) >= 0);
    // The daemon's own DHT lookups (publishing reads the package's index first) are counted with their time
    const lookups = (outcome: string) =>
      sample(after, new RegExp(`^ggen_p2p_dht_lookups_total\\{kind="record",outcome="${outcome}"\\} `)) ?? 0;
    assert.ok(lookups("found") + lookups("empty") >= 1, "no DHT lookup counted");
    assert.ok((sample(after, /^ggen_p2p_dht_lookup_seconds_total\{kind="record"\} /) ?? 0) > 0);
    assert.match(after, /^# TYPE ggen_p2p_gossip_messages_total counter/m);
    // libp2p's own metrics come through @libp2p/prometheus-metrics, behind ggen's byte counter
    assert.ok(/^libp2p_/m.test(after), "no libp2p metrics in the exposition");
    const fetchSent = sample(after, /^libp2p_data_transfer_bytes_total\{protocol="\/ggen\/fetch\/1\.0\.0 sent"\} /) ??
      0;
    assert.ok(fetchSent > size, `libp2p counted ${fetchSent} fetch bytes sent, the tarball has ${size}`);
    // `p2p status` reads the same traffic from ggen's counter: the fetch stream's payload and all streams' total
    const status = await ggen(["p2p", "status", "--json"], { home: daemon.home });
    const network = (JSON.parse(status.stdout) as {
      network: { bytes_in: number; bytes_out: number; protocols: Record<string, { bytes_out: number }> };
    }).network;
    assert.ok(network.protocols["/ggen/fetch/1.0.0"]!.bytes_out >= fetchSent, JSON.stringify(network));
    assert.ok(network.bytes_out > network.protocols["/ggen/fetch/1.0.0"]!.bytes_out, JSON.stringify(network));
    assert.ok(network.bytes_in > 0);
    // Where the daemon's memory sits: each isolate's heap, both within the process's resident set
    type Isolate = { heap_used: number; heap_total: number; external: number };
    const memory = (JSON.parse(status.stdout) as { memory: { rss: number; worker: Isolate; main: Isolate } }).memory;
    for (const isolate of [memory.worker, memory.main]) {
      assert.ok(isolate.heap_used > 0 && isolate.heap_used <= isolate.heap_total, JSON.stringify(memory));
    }
    assert.ok(memory.worker.heap_total + memory.main.heap_total < memory.rss, JSON.stringify(memory));
    // Only GET /metrics: nothing else on that port
    assert.equal((await fetch(url.replace("/metrics", "/status"))).status, 404);
  } finally {
    await daemon?.stop();
  }
});

/** The sha256 `install --json` reports */
function sha256Of(stdout: string): string {
  const line = stdout.split("\n").filter((l) => l.includes('"sha256"')).at(-1) ?? "";
  const sha = (JSON.parse(line) as { sha256?: string; packages?: { sha256: string }[] }).sha256 ??
    (JSON.parse(line) as { packages?: { sha256: string }[] }).packages?.[0]?.sha256;
  assert.ok(sha, `no sha256 in: ${stdout}`);
  return sha;
}

Deno.test("bootstrap-node profile: routes and relays, serves no bytes, metrics on", async () => {
  await using work = await tempDir();
  const started: Daemon[] = [];
  try {
    const boot = await startDaemon(join(work.path, "boot"), { args: ["--bootstrap-node", "--metrics", "127.0.0.1:0"] });
    started.push(boot);
    const holder = await startDaemon(join(work.path, "holder"), { bootstrap: [boot.addr] });
    started.push(holder);
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.boot.pkg", version: "1.0.0" });
    const published = await ggen(["publish", "--p2p", pkg], { home: holder.home });
    assert.equal(published.code, 0, published.stderr);

    // A client that knows only the bootstrap node finds the holder through it and installs
    const project = join(work.path, "project");
    await Deno.mkdir(project);
    const installed = await ggen(["install", "io.boot.pkg", "--json", "-v"], {
      home: join(work.path, "client"),
      cwd: project,
      env: { GGEN_MODE: "p2p", GGEN_BOOTSTRAP: boot.addr, GGEN_MIN_SOURCES: "1" },
    });
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stderr, new RegExp(`fetched from p2p:${holder.peerId}`));

    const metrics = await (await fetch(String(boot.info.metrics))).text();
    assert.equal(sample(metrics, /^ggen_p2p_fetches_served_total /), 0);
    assert.equal(sample(metrics, /^ggen_p2p_provided_packages /), 0);
    assert.ok((sample(metrics, /^ggen_p2p_peers /) ?? 0) >= 1);
    // Nothing of the package was stored on the bootstrap node
    const stored = [];
    for await (const e of Deno.readDir(join(boot.home, "cache", "sha256"))) if (e.isFile) stored.push(e.name);
    assert.deepEqual(stored, []);
  } finally {
    await Promise.all(started.map((d) => d.stop()));
  }
});
