/**
 * Node assembly: the node identity (`identity.key`, Ed25519, 0600) and the libp2p node with
 * TCP, noise, yamux, identify, ping, Kademlia on `/ggen/kad/1.0.0` (ggen's record validator
 * and selector), mDNS, bootstrap, gossipsub with explicit scoring, and the optional swarm key.
 * Every peer a discovery module finds is tagged with how it was found.
 * @module
 */
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { bootstrap } from "@libp2p/bootstrap";
import { gossipsub, StrictSign } from "@libp2p/gossipsub";
import { createPeerScoreParams, createPeerScoreThresholds, createTopicScoreParams } from "@libp2p/gossipsub/score";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PeerDiscovery, PrivateKey } from "@libp2p/interface";
import { join } from "node:path";
import { ANNOUNCE_TOPIC, DHT_PROTOCOL, ValidationError } from "../../src/core/mod.ts";
import { type DiscoverySource, selectRecord, verifyRecord, type WorkerStartInit } from "../../src/p2p/mod.ts";
import type { AccessGate } from "./access.ts";
import type { ReputationBook } from "./reputation_book.ts";
import { libp2pConnectionLimit } from "./slots.ts";
import type { TrafficCounter } from "./traffic.ts";
import type { Log, P2PLibp2p } from "./types.ts";

/**
 * How often libp2p's connection monitor pings each connection (libp2p's default: 10 s). Each ping
 * opens a stream (multistream-select, yamux, noise framing) for 32 bytes: at 10 s these pings were
 * nearly all of an idle daemon's traffic with 25 peers (libp2p's byte counters), and a share of its
 * CPU. A closed connection is still seen at once (TCP); only a silently dead one lives longer
 */
const CONNECTION_PING_INTERVAL_MS = 30_000;

/** Read the node identity of `home`, creating it (0600) on first use */
export async function loadIdentity(home: string): Promise<PrivateKey> {
  const path = join(home, "identity.key");
  try {
    return privateKeyFromProtobuf(await Deno.readFile(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new ValidationError(`Cannot read the node identity "${path}": ${(err as Error).message}`, { cause: err });
    }
  }
  const key = await generateKeyPair("Ed25519");
  await Deno.mkdir(home, { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600, createNew: true });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
  return key;
}

/** Collaborators of the node */
export interface NodeComponents {
  access: AccessGate;
  reputation: ReputationBook;
  log: Log;
  /** How each peer was found; filled by discovery */
  sources: Map<string, DiscoverySource>;
  /** libp2p's byte counts (and Prometheus behind them, when kept) */
  traffic: TrafficCounter;
}

/** Build (not start listening beyond libp2p's own start) the libp2p node */
export async function createNode(components: NodeComponents, init: WorkerStartInit): Promise<P2PLibp2p> {
  const { access, reputation, log, sources } = components;
  const tagged = <C>(source: DiscoverySource, factory: (c: C) => PeerDiscovery) => (c: C): PeerDiscovery => {
    const discovery = factory(c);
    discovery.addEventListener("peer", (evt) => {
      const id = evt.detail.id.toString();
      if (!sources.has(id)) {
        sources.set(id, source);
        log("debug", `discovered ${id} via ${source}`);
      }
    });
    return discovery;
  };
  const bootstrapList = init.bootstrap.filter(Boolean);
  // mDNS and the swarm key's protector load only when configured: every module costs start-up
  // time, and a short-lived node pays it on each command
  const mdns = init.mdns ? (await import("@libp2p/mdns")).mdns : undefined;
  const preSharedKey = init.psk ? (await import("@libp2p/pnet")).preSharedKey : undefined;
  const discovery = [
    ...(mdns ? [tagged("mdns", mdns({ interval: 1000 }))] : []),
    ...(bootstrapList.length ? [tagged("bootstrap", bootstrap({ list: bootstrapList, timeout: 0 }))] : []),
  ];
  const node = await createLibp2p({
    privateKey: await loadIdentity(init.home),
    addresses: { listen: init.listenAddrs },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    ...(init.psk && preSharedKey ? { connectionProtector: preSharedKey({ psk: init.psk, timeout: 1000 }) } : {}),
    connectionManager: {
      maxConnections: libp2pConnectionLimit(init.maxConnections),
      inboundConnectionThreshold: init.inboundConnectionThreshold,
      maxIncomingPendingConnections: 64,
      // A peer with the wrong swarm key never finishes the upgrade: with a key, give up on an
      // address after 750 ms instead of libp2p's 6 s (private networks are LANs)
      ...(init.psk ? { addressDialTimeout: 750, inboundUpgradeTimeout: 750 } : {}),
    },
    connectionGater: access.connectionGater(),
    connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL_MS },
    metrics: components.traffic.libp2p,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: init.dhtClientMode ?? false,
        ...(init.dhtConcurrency ? { alpha: init.dhtConcurrency, pingNewContactConcurrency: init.dhtConcurrency } : {}),
        kBucketSize: init.dhtReplicationFactor,
        // LANs and tests use private and loopback addresses
        peerInfoMapper: passthroughMapper,
        validators: {
          ggen: async (key, value) => void await verifyRecord(new TextDecoder().decode(key), value),
        },
        selectors: { ggen: (key, values) => selectRecord(new TextDecoder().decode(key), values) },
        allowQueryWithZeroPeers: true,
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        globalSignaturePolicy: StrictSign,
        emitSelf: false,
        // Explicit peer scoring: invalid announcements cost quadratically (P4), our reputation
        // feeds the app-specific score, and many peers behind one IP are penalised (P6)
        scoreParams: createPeerScoreParams({
          topics: {
            [ANNOUNCE_TOPIC]: createTopicScoreParams({
              topicWeight: 1,
              invalidMessageDeliveriesWeight: -1,
              invalidMessageDeliveriesDecay: 0.99,
            }),
          },
          appSpecificScore: (peer: string) => reputation.score(peer),
          appSpecificWeight: 1,
          IPColocationFactorWeight: -5,
          IPColocationFactorThreshold: init.maxConnectionsPerIp,
          decayInterval: 1000,
        }),
        scoreThresholds: createPeerScoreThresholds({
          gossipThreshold: -10,
          publishThreshold: -20,
          graylistThreshold: -40,
          acceptPXThreshold: 10,
          opportunisticGraftThreshold: 5,
        }),
      }),
    },
  }) as unknown as P2PLibp2p;
  // libp2p records our own addresses in the peer store only after a 1 s debounce, and kad-dht
  // drops providers without addresses from GET_PROVIDERS answers: record them now
  const selfSuffix = `/p2p/${node.peerId.toString()}`;
  await node.peerStore.merge(node.peerId, {
    multiaddrs: node.getMultiaddrs().map((a) => a.decapsulate(selfSuffix)),
  });
  return node;
}
