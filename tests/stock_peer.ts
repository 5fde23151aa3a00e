/**
 * A stock js-libp2p peer that knows only ggen's public protocol ids, for interop and attack tests.
 * Its DHT accepts any `/ggen/` record, so it can play a lying peer.
 * @module
 */
import { createLibp2p } from "libp2p";
import { tcp, type TCPOptions } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { gossipsub } from "@libp2p/gossipsub";

const HOUR = 3_600_000;

/**
 * Transports and Kademlia as a stock peer has them, listening on `ip`; a quiet peer (one of a
 * flood) also dials from `ip` and runs no self-queries
 */
function stockBase(ip: string, quiet: boolean) {
  return {
    addresses: { listen: [`/ip4/${ip}/tcp/0`] },
    // @libp2p/tcp spreads dialOpts into net.connect, whose localAddress its type does not list
    transports: [tcp(quiet ? { dialOpts: { localAddress: ip } as NonNullable<TCPOptions["dialOpts"]> } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(quiet ? { connectionManager: { maxConnections: 4 } } : {}),
    dht: kadDHT({
      protocol: "/ggen/kad/1.0.0",
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      ...(quiet ? { initialQuerySelfInterval: HOUR, querySelfInterval: HOUR } : {}),
      // accepts ggen's record namespace without knowing its schema
      validators: { ggen: () => Promise.resolve() },
      selectors: { ggen: () => 0 },
    }),
  };
}

/** Start a stock peer on loopback with the DHT and gossipsub */
export function createStockPeer() {
  const { dht, ...base } = stockBase("127.0.0.1", false);
  return createLibp2p({
    ...base,
    services: { identify: identify(), ping: ping(), dht, pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
  });
}

/** Start a quiet DHT-only stock peer on loopback address `ip` (one of a connection flood) */
export function createFloodPeer(ip: string) {
  const { dht, ...base } = stockBase(ip, true);
  return createLibp2p({ ...base, services: { identify: identify(), ping: ping(), dht } });
}
