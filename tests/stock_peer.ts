/**
 * A stock js-libp2p peer that knows only ggen's public protocol ids, for interop and attack tests.
 * Its DHT accepts any `/ggen/` record, so it can play a lying peer.
 * @module
 */
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { gossipsub } from "@libp2p/gossipsub";

/** Start a stock peer on loopback with the DHT and gossipsub */
export function createStockPeer() {
  return createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: "/ggen/kad/1.0.0",
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        // accepts ggen's record namespace without knowing its schema
        validators: { ggen: () => Promise.resolve() },
        selectors: { ggen: () => 0 },
      }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
    },
  });
}
