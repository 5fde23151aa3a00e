/**
 * A connection flood, run as its own process so killing it leaves dead peers behind: `count`
 * stock js-libp2p peers that speak ggen's Kademlia protocol (so they enter the victim's routing
 * table), spread over `ips` loopback addresses from 127.0.0.10 on, each dialling the victim from
 * its own address and dialling again a second after a disconnect. Prints one JSON line with
 * how many got in once every peer got in (or 30 s passed), then holds until killed.
 *
 * Usage: deno run -A tests/flood_peers.ts '{"target": "/ip4/…/p2p/…", "count": 200, "ips": 25}'
 * @module
 */
import { multiaddr } from "@multiformats/multiaddr";
import { createFloodPeer } from "./stock_peer.ts";

const { target, count, ips } = JSON.parse(Deno.args[0] ?? "{}") as { target: string; count: number; ips: number };
const victim = multiaddr(target);

async function floodPeer(ip: string) {
  const node = await createFloodPeer(ip);
  node.addEventListener("peer:disconnect", () => {
    // an attacker dials again; bounded by the process's life (the test kills it)
    setTimeout(() => void node.dial(victim).catch(() => {}), 1000);
  });
  return node;
}

const nodes = [];
for (let i = 0; i < count; i++) nodes.push(await floodPeer(`127.0.0.${10 + (i % ips)}`));
// Every peer dials until it got in once (refused dials retry after 0.5-1 s), for at most 30 s
const deadline = Date.now() + 30_000;
const gotIn = await Promise.all(nodes.map(async (n) => {
  while (Date.now() < deadline) {
    try {
      await n.dial(victim, { signal: AbortSignal.timeout(5000) });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
    }
  }
  return false;
}));
console.log(JSON.stringify({ connected: gotIn.filter(Boolean).length }));
await new Promise(() => {});
