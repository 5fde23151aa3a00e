/**
 * Private networks: nodes with the same pre-shared key connect; a node with another key gets no
 * upgraded connection and each of its dials fails within a second; a node configured as private
 * without a key refuses to start.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { loadConfig } from "../src/cli/config.ts";
import { generateSwarmKey, workerInit } from "../src/cli/node_init.ts";
import { startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { ggen, tempDir } from "./helpers.ts";

async function nodeWithKey(home: string, keyFile: string): Promise<WorkerNode> {
  await Deno.mkdir(home, { recursive: true });
  Deno.env.set("GGEN_HOME", home);
  Deno.env.set("GGEN_PSK_FILE", keyFile);
  Deno.env.set("GGEN_LISTEN", "/ip4/127.0.0.1/tcp/0");
  Deno.env.set("GGEN_MDNS", "0");
  try {
    const config = await loadConfig();
    return await startWorkerNode({ logger: silentLogger }, await workerInit(config, { reprovideIntervalMs: 0 }));
  } finally {
    for (const k of ["GGEN_HOME", "GGEN_PSK_FILE", "GGEN_LISTEN", "GGEN_MDNS"]) Deno.env.delete(k);
  }
}

Deno.test("pnet: same key connects, a wrong key gets 0 connections and fails fast, private without a key refuses", async () => {
  await using work = await tempDir();
  const keyA = join(work.path, "a.key");
  const keyB = join(work.path, "b.key");
  await generateSwarmKey(keyA);
  await generateSwarmKey(keyB);
  assert.equal((await Deno.stat(keyA)).mode! & 0o777, 0o600);
  const a = await nodeWithKey(join(work.path, "a"), keyA);
  const b = await nodeWithKey(join(work.path, "b"), keyA);
  const c = await nodeWithKey(join(work.path, "c"), keyB);
  try {
    await b.dial(a.listenAddrs[0]!);
    assert.ok((await a.peers()).some((p) => p.peerId === b.peerId));
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await assert.rejects(c.dial(a.listenAddrs[0]!));
      times.push(performance.now() - t0);
    }
    console.log(
      `  wrong key: dials failed after ${times.map((t) => t.toFixed(0)).join(", ")} ms; upgraded connections: ${
        (await c.status()).peerCount
      }`,
    );
    await recordFigure(
      "pnet",
      String(
        `  wrong key: dials failed after ${times.map((t) => t.toFixed(0)).join(", ")} ms; upgraded connections: ${
          (await c.status()).peerCount
        }`,
      ).trim(),
    );
    assert.ok(times.every((t) => t < 1000));
    assert.equal((await c.status()).peerCount, 0);
    assert.ok(!(await a.peers()).some((p) => p.peerId === c.peerId));
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }

  const home = join(work.path, "private");
  await Deno.mkdir(home);
  await Deno.writeTextFile(join(home, "config.toml"), "[registry.p2p]\nprivate = true\n");
  const r = await ggen(["p2p", "status"], { home });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /registry.p2p.private is true but registry.p2p.psk_file is not set/);
  const gen = await ggen(["p2p", "psk", "generate"], { home });
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(
    await Deno.readTextFile(join(home, "swarm.key")),
    /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/,
  );
});
