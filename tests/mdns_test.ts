/**
 * mDNS discovery between two real nodes on separate hosts (network namespaces on one bridge),
 * where multicast is real. Skipped, with the reason printed, where namespaces are unavailable.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { stopChild, tempDir } from "./helpers.ts";
import { createHosts, ggenInHost, netnsUnavailable } from "./netns.ts";
import { generateSwarmKey } from "../src/cli/node_init.ts";

const unavailable = await netnsUnavailable();
if (unavailable) console.log(`mdns_test: skipped: ${unavailable}`);

async function mdnsPair(withKey: boolean): Promise<void> {
  await using work = await tempDir();
  await using hosts = await createHosts(2);
  const keyFile = join(work.path, "swarm.key");
  if (withKey) await generateSwarmKey(keyFile);
  const keyEnv: Record<string, string> = withKey ? { GGEN_PSK_FILE: keyFile } : {};
  const children: Deno.ChildProcess[] = [];
  try {
    const started = performance.now();
    for (const [i, ns] of hosts.names.entries()) {
      const home = join(work.path, `h${i}`);
      await Deno.mkdir(home);
      children.push(
        ggenInHost(ns, ["p2p", "start", "--listen", `/ip4/${hosts.address(i)}/tcp/0`], {
          env: { GGEN_HOME: home, GGEN_MDNS: "1", ...keyEnv },
        }).spawn(),
      );
    }
    const peersOf = async (i: number) => {
      const out = await ggenInHost(hosts.names[i]!, ["p2p", "peers", "--json"], {
        env: { GGEN_HOME: join(work.path, `h${i}`), ...keyEnv },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((l) =>
        JSON.parse(l) as { source: string; address: string }
      );
    };
    let found: { source: string; address: string }[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        found = await peersOf(0);
      } catch {
        found = [];
      }
      if (found.some((p) => p.source === "mdns")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(
      `  mDNS${withKey ? " (private network)" : ""}: peer found ${
        ((performance.now() - started) / 1000).toFixed(2)
      } s after both daemons were spawned`,
    );
    await recordFigure(
      "mdns",
      String(
        `  mDNS${withKey ? " (private network)" : ""}: peer found ${
          ((performance.now() - started) / 1000).toFixed(2)
        } s after both daemons were spawned`,
      ).trim(),
    );
    const viaMdns = found.find((p) => p.source === "mdns");
    assert.ok(viaMdns, `no peer found by mDNS: ${JSON.stringify(found)}`);
    assert.ok(viaMdns.address.includes(hosts.address(1)));
  } finally {
    // Bounded: a daemon that ignores SIGINT fails the test instead of holding the suite
    const statuses = await Promise.all(children.map((c) => stopChild(c)));
    assert.ok(statuses.every((s) => !s.killed), "a daemon did not stop within 20 s of SIGINT");
  }
}

Deno.test({
  name: "p2p: two nodes on one LAN find each other by mDNS, with no bootstrap peers",
  ignore: unavailable !== undefined,
  fn: () => mdnsPair(false),
});

Deno.test({
  name: "p2p: mDNS discovery works between private-network nodes sharing a swarm key",
  ignore: unavailable !== undefined,
  fn: () => mdnsPair(true),
});
