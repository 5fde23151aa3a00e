import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { loadConfig } from "./config.ts";
import { setConfigValue } from "./config_write.ts";

const VARS = ["GGEN_HOME", "GGEN_REGISTRY", "GGEN_MODE", "GGEN_TOKEN", "GGEN_BOOTSTRAP", "GGEN_LISTEN", "GGEN_MDNS"];

async function withHome(config: string, env: Record<string, string>, fn: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir();
  const saved = Object.fromEntries(VARS.map((k) => [k, Deno.env.get(k)]));
  try {
    for (const k of VARS) Deno.env.delete(k);
    Deno.env.set("GGEN_HOME", home);
    for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
    if (config) await Deno.writeTextFile(join(home, "config.toml"), config);
    await fn(home);
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(home, { recursive: true });
  }
}

const FILE = `[registry]
mode = "central"
central_url = "http://file.example:1"

[registry.p2p]
listen_addrs = ["/ip4/0.0.0.0/tcp/4001"]

[[registry.p2p.bootstrap]]
peer_id = "12D3KooWfile"
address = "/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWfile"

[registry.p2p.tuning]
max_connections = 42
`;

Deno.test("loadConfig() precedence: flag > environment > file > default", async () => {
  await withHome(FILE, {}, async () => {
    const c = await loadConfig();
    assert.equal(c.registry.mode, "central");
    assert.equal(c.registry.centralUrl, "http://file.example:1");
    assert.equal(c.p2p.maxConnections, 42);
    assert.equal(c.p2p.bootstrap[0]?.peer_id, "12D3KooWfile");
    assert.deepEqual(c.p2p.listenAddrs, ["/ip4/0.0.0.0/tcp/4001"]);
  });
  await withHome(FILE, { GGEN_REGISTRY: "http://env.example:2", GGEN_MODE: "p2p" }, async () => {
    const c = await loadConfig();
    assert.equal(c.registry.centralUrl, "http://env.example:2");
    assert.equal(c.registry.mode, "p2p");
    const flagged = await loadConfig({ registry: "http://flag.example:3", central: true });
    assert.equal(flagged.registry.centralUrl, "http://flag.example:3");
    assert.equal(flagged.registry.mode, "central");
  });
  await withHome("", {}, async () => {
    const c = await loadConfig();
    assert.equal(c.registry.mode, "hybrid");
    assert.equal(c.p2p.maxConnections, 100);
  });
});

Deno.test("loadConfig() names the key of every invalid value", async (t) => {
  const cases: [string, RegExp][] = [
    ['[registry]\nmode = "mesh"\n', /key "registry.mode" must be "central", "p2p", "hybrid" or "p2p-first"/],
    ['[registry]\ncentral_url = "ftp://x"\n', /key "registry.central_url" must be an http\(s\) URL/],
    ["[registry.p2p.tuning]\nmax_connections = -1\n", /key "registry.p2p.tuning.max_connections" must be an integer/],
    ['[registry.p2p]\nlisten_addrs = ["0.0.0.0:1"]\n', /key "registry.p2p.listen_addrs" must be multiaddrs/],
    ["[registry]\ncolour = 1\n", /unknown key "registry.colour"/],
    ['[[registry.p2p.bootstrap]]\naddress = "nope"\n', /key "registry.p2p.bootstrap\[0\].address" must be a multiaddr/],
    ["[registry\n", /Invalid config/],
  ];
  for (const [text, pattern] of cases) {
    await t.step(pattern.source, async () => {
      await withHome(text, {}, async () => {
        await assert.rejects(loadConfig(), (err: Error) => err instanceof ConfigError && pattern.test(err.message));
      });
    });
  }
});

Deno.test("setConfigValue() validates and writes one key", async () => {
  await withHome("", {}, async (home) => {
    const file = join(home, "config.toml");
    await setConfigValue(file, "registry.mode", "p2p");
    await setConfigValue(file, "registry.p2p.tuning.request_timeout_secs", "5");
    const c = await loadConfig();
    assert.equal(c.registry.mode, "p2p");
    assert.equal(c.p2p.requestTimeoutSecs, 5);
    await assert.rejects(setConfigValue(file, "registry.mode", "bogus"), /registry.mode/);
    await assert.rejects(setConfigValue(file, "nope.key", "1"), /Unknown config key "nope.key"/);
  });
});
