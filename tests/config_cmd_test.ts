/**
 * `ggen config get` shows the value in effect and where it comes from; `config set` takes the
 * bootstrap peers as a list and writes them as the tables the file holds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, jsonLines, tempDir } from "./helpers.ts";

const PEER = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzh9Cd2c8YuYg8ibPtxB7T5RrtzzQomYsVMNZ1nJcKgY";

Deno.test("config: get names the origin of a value; set writes bootstrap peers", async () => {
  await using work = await tempDir();
  const home = work.path;
  const get = async (key: string, env: Record<string, string> = {}) =>
    jsonLines<{ key: string; value: unknown; origin: string }>(
      (await ggen(["config", "get", key, "--json"], { home, env })).stdout,
    )[0]!;

  assert.deepEqual(await get("registry.timeout_secs"), { key: "registry.timeout_secs", value: 10, origin: "default" });
  assert.equal((await ggen(["config", "set", "registry.timeout_secs", "7"], { home })).code, 0);
  assert.deepEqual(await get("registry.timeout_secs"), {
    key: "registry.timeout_secs",
    value: 7,
    origin: `file ${join(home, "config.toml")}`,
  });
  assert.deepEqual((await get("registry.timeout_secs", { GGEN_TIMEOUT_SECS: "3" })).origin, "env GGEN_TIMEOUT_SECS");
  assert.equal((await get("registry.timeout_secs", { GGEN_TIMEOUT_SECS: "3" })).value, 3);

  const set = await ggen(["config", "set", "registry.p2p.bootstrap", PEER], { home });
  assert.equal(set.code, 0, set.stderr);
  assert.match(await Deno.readTextFile(join(home, "config.toml")), /\[\[registry\.p2p\.bootstrap\]\]\naddress = "/);
  assert.deepEqual((await get("registry.p2p.bootstrap")).value, [PEER]);
  const text = await ggen(["config", "get", "registry.p2p.bootstrap"], { home });
  assert.match(text.stdout, new RegExp(`^${PEER.replaceAll(".", "\\.")}\\s+\\(file `));

  const bad = await ggen(["config", "set", "registry.p2p.bootstrap", "127.0.0.1:4001"], { home });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /registry\.p2p\.bootstrap/);
});
