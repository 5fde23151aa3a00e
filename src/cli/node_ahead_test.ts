import assert from "node:assert/strict";
import { join } from "node:path";
import { backendHealthFile, centralSkipped } from "./backend_health.ts";
import type { Config, NetworkPolicy, RegistryMode } from "./config.ts";
import { workerAheadReason } from "./node_ahead.ts";

function configOf(mode: RegistryMode, network: NetworkPolicy = "online", enabled = true): Readonly<Config> {
  // Only what the rule reads
  return { registry: { mode, network }, p2p: { enabled } } as unknown as Config;
}

Deno.test("workerAheadReason: only where a short-lived node is the likely way", () => {
  const facts = { command: "install", centralSkipped: false, daemonRunning: false };
  assert.equal(workerAheadReason({ ...facts, config: configOf("p2p") }), "p2p mode");
  assert.equal(workerAheadReason({ ...facts, config: configOf("p2p-first") }), "p2p-first mode");
  assert.equal(workerAheadReason({ ...facts, command: "search", config: configOf("p2p") }), "p2p mode");
  // Hybrid: only if central's port refuses a connection (the probe); an answering central loads no P2P code
  assert.equal(workerAheadReason({ ...facts, config: configOf("hybrid") }), "probe");
  assert.equal(
    workerAheadReason({ ...facts, centralSkipped: true, config: configOf("hybrid") }),
    "central failed moments ago",
  );
  assert.equal(workerAheadReason({ ...facts, centralSkipped: true, config: configOf("central") }), undefined);
  // The daemon's node serves the command
  assert.equal(workerAheadReason({ ...facts, daemonRunning: true, config: configOf("p2p") }), undefined);
  assert.equal(workerAheadReason({ ...facts, config: configOf("p2p", "offline") }), undefined);
  assert.equal(workerAheadReason({ ...facts, config: configOf("p2p", "prefer-offline") }), undefined);
  assert.equal(workerAheadReason({ ...facts, config: configOf("p2p", "online", false) }), undefined);
  for (const command of ["publish", "config", "login", "p2p"]) {
    assert.equal(workerAheadReason({ ...facts, command, config: configOf("p2p") }), undefined, command);
  }
});

Deno.test("backend-health.json keeps the breaker and central's latency between commands", async () => {
  const home = await Deno.makeTempDir();
  try {
    const url = "http://127.0.0.1:9/";
    assert.equal(centralSkipped(home, url), false);
    // A new user's first command: the home does not exist yet
    const store = backendHealthFile(join(home, "new-home"));
    store.save({ "central http://127.0.0.1:9": Date.now() + 30_000 });
    assert.equal(centralSkipped(join(home, "new-home"), url), true);
    const key = "central http://127.0.0.1:9";
    const saved = backendHealthFile(home);
    saved.save({ [key]: Date.now() + 30_000, [`latency ${key}`]: 12 });
    // A latency is a few milliseconds, not a moment in time: it survives the read
    assert.deepEqual(Object.keys(saved.load()).sort(), [key, `latency ${key}`]);
    assert.equal(saved.load()[`latency ${key}`], 12);
    // Keyed as the HTTP client keeps its URL, without trailing slashes
    assert.equal(centralSkipped(home, url), true);
    assert.equal(centralSkipped(home, "http://127.0.0.1:9"), true);
    assert.equal(centralSkipped(home, "http://127.0.0.1:10"), false);
    saved.save({ [key]: Date.now() - 1 });
    assert.equal(centralSkipped(home, url), false);
    // A damaged file is no state
    await Deno.writeTextFile(join(home, "backend-health.json"), "{not json");
    assert.deepEqual(saved.load(), {});
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
