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
import { createLibp2p } from "libp2p";
import { tcp, type TCPOptions } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { multiaddr } from "@multiformats/multiaddr";

const { target, count, ips } = JSON.parse(Deno.args[0] ?? "{}") as { target: string; count: number; ips: number };
const victim = multiaddr(target);
const HOUR = 3_600_000;

async function floodPeer(ip: string) {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${ip}/tcp/0`] },
    // @libp2p/tcp spreads dialOpts into net.connect, whose localAddress its type does not list
    transports: [tcp({ dialOpts: { localAddress: ip } as NonNullable<TCPOptions["dialOpts"]> })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 4 },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: "/ggen/kad/1.0.0",
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        // an idle flood: no self-queries that would load the victim
        initialQuerySelfInterval: HOUR,
        querySelfInterval: HOUR,
        validators: { ggen: () => Promise.resolve() },
        selectors: { ggen: () => 0 },
      }),
    },
  });
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
