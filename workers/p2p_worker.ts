/// <reference lib="deno.worker" />
/**
 * The P2P worker: owns the one libp2p node of the process (TCP, noise, yamux, identify, ping,
 * Kademlia DHT on `/ggen/kad/1.0.0`, mDNS, bootstrap, gossipsub) and answers the typed requests
 * of `src/p2p/protocol.ts`. The only code that imports libp2p.
 * @module
 */
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { type Ping, ping } from "@libp2p/ping";
import { kadDHT, passthroughMapper, type SingleKadDHT } from "@libp2p/kad-dht";
import { mdns } from "@libp2p/mdns";
import { bootstrap } from "@libp2p/bootstrap";
import { preSharedKey } from "@libp2p/pnet";
import { type GossipSub, gossipsub, StrictSign, TopicValidatorResult } from "@libp2p/gossipsub";
import { createPeerScoreParams, createPeerScoreThresholds, createTopicScoreParams } from "@libp2p/gossipsub/score";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, MultiaddrConnection, PeerDiscovery, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { cidrContains } from "@chainsafe/netmask";
import { join } from "node:path";
import {
  ANNOUNCE_TOPIC,
  CATALOG_PROTOCOL,
  DHT_PROTOCOL,
  FETCH_CHUNK_BYTES,
  FETCH_PROTOCOL,
  MAX_PROVIDERS_PER_KEY,
} from "../src/core/constants.ts";
import { cidFromSha256, isSha256Hex } from "../src/core/digest.ts";
import { NotFoundError, serializeError, UnavailableError, ValidationError } from "../src/core/errors.ts";
import type { LogLevel } from "../src/core/logger.ts";
import { type Catalog, type CatalogEntry, openCatalog } from "../src/p2p/catalog.ts";
import { encodeFrame, type FetchRequest, type FetchResponseHeader, readFrame } from "../src/p2p/fetch_wire.ts";
import {
  errorReply,
  INITIAL_CREDIT,
  type MainToWorker,
  okReply,
  type RequestMessage,
  type WorkerMethods,
  type WorkerStartInit,
  type WorkerToMain,
} from "../src/p2p/protocol.ts";
import {
  type Announcement,
  encodeJson,
  recordSeq,
  type RecordValue,
  selectRecord,
  validateAnnouncement,
  verifyRecord,
} from "../src/p2p/records.ts";
import type { DiscoverySource, NodeStatus, PeerSummary, ProviderInfo } from "../src/p2p/types.ts";
import { type Behaviour, Reputation } from "../src/p2p/reputation.ts";
import { DEFAULT_PEER_FETCH_LIMIT, RateLimiter } from "../src/core/rate_limit.ts";

/** Write JSON to a temp file and rename it over `path` */
async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(value));
  await Deno.rename(tmp, path);
}

type Services = { identify: unknown; ping: Ping; dht: SingleKadDHT; pubsub: GossipSub };

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const CATALOG_QUERY_TIMEOUT_MS = 2000;
const MAX_CATALOG_PEERS = 16;

let node: Libp2p<Services> | undefined;
let catalog: Catalog | undefined;
let cacheDir = "";
let logLevel: LogLevel = "info";
let startedAt = 0;
let bytesIn = 0;
let bytesOut = 0;
let reprovideTimer: ReturnType<typeof setInterval> | undefined;
const provided = new Set<string>();
const sources = new Map<string, DiscoverySource>();
const reputation = new Reputation();
const fetchLimiter = new RateLimiter({ peerFetch: DEFAULT_PEER_FETCH_LIMIT });
/** Concurrent fetch streams per connection; libp2p resets the ones past it */
const MAX_FETCH_STREAMS = 16;
let reputationFile = "";
let saveTimer: ReturnType<typeof setTimeout> | undefined;
const controllers = new Map<number, AbortController>();
const credits = new Map<number, { available: number; wake?: () => void }>();

function post(msg: WorkerToMain, transfer?: Transferable[]): void {
  self.postMessage(msg, transfer ? { transfer } : undefined);
}

function log(level: LogLevel, message: string): void {
  if (LEVELS[level] <= LEVELS[logLevel]) post({ type: "log", level, component: "p2p", message });
}

function requireNode(): Libp2p<Services> {
  if (!node) throw new UnavailableError("The P2P node is not started");
  return node;
}

function isBanned(peer: string): boolean {
  return reputation.isBanned(peer);
}

/** Persist the reputation table soon (coalesced), atomically */
function saveReputation(): void {
  if (!reputationFile || saveTimer !== undefined) return;
  saveTimer = setTimeout(() => {
    saveTimer = undefined;
    void writeJsonAtomic(reputationFile, reputation).catch((err) =>
      log("debug", `saving reputation: ${(err as Error).message}`)
    );
  }, 500);
}

function judge(peer: string, behaviour: Behaviour, reason: string): void {
  const banned = reputation.record(peer, behaviour);
  if (behaviour !== "verified-transfer") {
    log("warn", `peer ${peer} ${behaviour} (score ${reputation.score(peer).toFixed(1)}): ${reason}`);
  }
  if (banned) {
    log("warn", `banned peer ${peer} for an hour`);
    void node?.hangUp(peerIdFromString(peer)).catch(() => {});
  }
  saveReputation();
}

async function loadIdentity(home: string): Promise<PrivateKey> {
  const path = join(home, "identity.key");
  try {
    return privateKeyFromProtobuf(await Deno.readFile(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new ValidationError(`Cannot read the node identity "${path}": ${(err as Error).message}`);
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

/** Tag every peer a discovery module finds with its source */
function tagged<C>(
  source: DiscoverySource,
  factory: (components: C) => PeerDiscovery,
): (components: C) => PeerDiscovery {
  return (components: C) => {
    const discovery = factory(components);
    discovery.addEventListener("peer", (evt) => {
      const id = evt.detail.id.toString();
      if (!sources.has(id)) {
        sources.set(id, source);
        log("debug", `discovered ${id} via ${source}`);
      }
    });
    return discovery;
  };
}

/** Bytes of a stream, as plain Uint8Arrays */
async function* bytesOf(stream: Stream): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) yield chunk instanceof Uint8Array ? chunk : chunk.subarray();
}

function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal.reason));
    const timer = setTimeout(() => finish(() => reject(new UnavailableError(`${what}: no data for ${ms} ms`))), ms);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      fn();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((v) => finish(() => resolve(v)), (e) => finish(() => reject(e)));
  });
}

async function sendAll(stream: Stream, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(data)) await stream.onDrain(signal ? { signal } : {});
}

async function handleFetch(stream: Stream, connection: Connection): Promise<void> {
  const peer = connection.remotePeer.toString();
  const signal = AbortSignal.timeout(10 * 60 * 1000);
  try {
    try {
      fetchLimiter.take("peerFetch", peer);
    } catch (err) {
      await sendAll(stream, encodeFrame({ ok: false, error: (err as Error).message } satisfies FetchResponseHeader));
      await stream.close();
      return;
    }
    const it = bytesOf(stream)[Symbol.asyncIterator]();
    const { frame: req } = await withTimeout(readFrame<FetchRequest>(it), 10_000, signal, "fetch request");
    if (typeof req?.sha256 !== "string" || !isSha256Hex(req.sha256)) {
      await sendAll(stream, encodeFrame({ ok: false, error: "bad request" } satisfies FetchResponseHeader));
      await stream.close();
      return;
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(join(cacheDir, req.sha256), { read: true });
    } catch {
      await sendAll(stream, encodeFrame({ ok: false, error: "not found" } satisfies FetchResponseHeader));
      await stream.close();
      return;
    }
    try {
      const total = (await file.stat()).size;
      const offset = Math.min(Math.max(0, Math.floor(Number(req.offset) || 0)), total);
      const wanted = Number(req.length);
      const length = Number.isSafeInteger(wanted) && wanted >= 0 ? Math.min(wanted, total - offset) : total - offset;
      await file.seek(offset, Deno.SeekMode.Start);
      await sendAll(stream, encodeFrame({ ok: true, total, offset, length } satisfies FetchResponseHeader));
      const buf = new Uint8Array(FETCH_CHUNK_BYTES);
      let left = length;
      while (left > 0) {
        const n = await file.read(buf.subarray(0, Math.min(buf.length, left)));
        if (n === null) break;
        await sendAll(stream, buf.slice(0, n), signal);
        bytesOut += n;
        left -= n;
      }
    } finally {
      file.close();
    }
    await stream.close();
    log("debug", `served ${req.sha256.slice(0, 12)} to ${peer}`);
  } catch (err) {
    log("debug", `serving to ${peer} failed: ${err instanceof Error ? err.message : String(err)}`);
    stream.abort(err as Error);
  }
}

async function handleCatalog(stream: Stream): Promise<void> {
  try {
    const it = bytesOf(stream)[Symbol.asyncIterator]();
    const signal = AbortSignal.timeout(10_000);
    const { frame } = await withTimeout(
      readFrame<{ text: string; limit: number }>(it),
      5000,
      signal,
      "catalog request",
    );
    const limit = Math.min(Math.max(1, Number(frame.limit) || 20), 50);
    const hits = catalog?.search(String(frame.text ?? "").slice(0, 256), limit) ?? [];
    await sendAll(stream, encodeFrame(hits));
    await stream.close();
  } catch (err) {
    stream.abort(err as Error);
  }
}

async function provideAll(signal: AbortSignal): Promise<void> {
  const n = requireNode();
  const digests: string[] = [];
  try {
    for await (const e of Deno.readDir(cacheDir)) if (e.isFile && isSha256Hex(e.name)) digests.push(e.name);
  } catch {
    return;
  }
  for (const sha of digests) {
    signal.throwIfAborted();
    try {
      await n.contentRouting.provide(cidFromSha256(sha), { signal });
      provided.add(sha);
    } catch (err) {
      log("debug", `provide ${sha.slice(0, 12)} failed: ${(err as Error).message}`);
    }
  }
  if (digests.length) log("debug", `provided ${digests.length} packages`);
}

let accessPolicy: Pick<
  WorkerStartInit,
  "maxConnectionsPerIp" | "allowPeers" | "denyPeers" | "allowRanges" | "denyRanges"
> = {
  maxConnectionsPerIp: 8,
  allowPeers: [],
  denyPeers: [],
  allowRanges: [],
  denyRanges: [],
};
/** Open inbound connections per remote IP, counted from accept to close */
const inboundPerIp = new Map<string, number>();
let inboundDenied = 0;

function ipOf(multiaddrText: string): string {
  return /^\/ip[46]\/([^/]+)/.exec(multiaddrText)?.[1] ?? "";
}

function inRanges(ip: string, ranges: string[]): boolean {
  return ranges.some((r) => {
    try {
      return cidrContains(r, ip);
    } catch {
      return false;
    }
  });
}

function addressAllowed(ip: string): boolean {
  if (!ip) return true;
  if (inRanges(ip, accessPolicy.denyRanges)) return false;
  return accessPolicy.allowRanges.length === 0 || inRanges(ip, accessPolicy.allowRanges);
}

function peerAllowed(peer: string): boolean {
  if (isBanned(peer) || accessPolicy.denyPeers.includes(peer)) return false;
  return accessPolicy.allowPeers.length === 0 || accessPolicy.allowPeers.includes(peer);
}

/** js-libp2p has no per-IP cap: count raw inbound connections and refuse past the cap */
function denyInbound(maConn: MultiaddrConnection): boolean {
  const ip = ipOf(maConn.remoteAddr.toString());
  if (!addressAllowed(ip)) {
    inboundDenied++;
    return true;
  }
  const open = inboundPerIp.get(ip) ?? 0;
  if (open >= accessPolicy.maxConnectionsPerIp) {
    inboundDenied++;
    return true;
  }
  inboundPerIp.set(ip, open + 1);
  maConn.addEventListener("close", () => {
    const n = (inboundPerIp.get(ip) ?? 1) - 1;
    if (n <= 0) inboundPerIp.delete(ip);
    else inboundPerIp.set(ip, n);
  }, { once: true });
  return false;
}

async function start(init: WorkerStartInit): Promise<WorkerMethods["start"]["result"]> {
  if (node) throw new ValidationError("The P2P node is already started");
  logLevel = init.logLevel;
  accessPolicy = init;
  cacheDir = join(init.home, "cache", "sha256");
  await Deno.mkdir(cacheDir, { recursive: true });
  catalog = openCatalog(join(init.home, "p2p.db"));
  reputationFile = join(init.home, "reputation.json");
  try {
    reputation.load(JSON.parse(await Deno.readTextFile(reputationFile)));
  } catch {
    // no history yet
  }
  const privateKey = await loadIdentity(init.home);
  const bootstrapList = init.bootstrap.filter(Boolean);
  const discovery = [
    ...(init.mdns ? [tagged("mdns", mdns({ interval: 1000 }))] : []),
    ...(bootstrapList.length ? [tagged("bootstrap", bootstrap({ list: bootstrapList, timeout: 0 }))] : []),
  ];
  node = await createLibp2p({
    privateKey,
    addresses: { listen: init.listenAddrs },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    ...(init.psk ? { connectionProtector: preSharedKey({ psk: init.psk, timeout: 1000 }) } : {}),
    connectionManager: {
      maxConnections: init.maxConnections,
      inboundConnectionThreshold: init.inboundConnectionThreshold,
      maxIncomingPendingConnections: 64,
      // A peer with the wrong swarm key never finishes the upgrade: with a key, give up on an
      // address after 750 ms instead of libp2p's 6 s (private networks are LANs)
      ...(init.psk ? { addressDialTimeout: 750, inboundUpgradeTimeout: 750 } : {}),
    },
    connectionGater: {
      denyDialPeer: (peer: PeerId) => !peerAllowed(peer.toString()),
      denyDialMultiaddr: (ma) => !addressAllowed(ipOf(ma.toString())),
      denyInboundConnection: (maConn) => denyInbound(maConn),
      denyInboundEncryptedConnection: (peer: PeerId) => !peerAllowed(peer.toString()),
      denyOutboundEncryptedConnection: (peer: PeerId) => !peerAllowed(peer.toString()),
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
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
  }) as unknown as Libp2p<Services>;
  startedAt = Date.now();
  // libp2p records our own addresses in the peer store only after a 1 s debounce, and kad-dht
  // drops providers without addresses from GET_PROVIDERS answers: record them now
  const selfSuffix = `/p2p/${node.peerId.toString()}`;
  await node.peerStore.merge(node.peerId, {
    multiaddrs: node.getMultiaddrs().map((a) => a.decapsulate(selfSuffix)),
  });
  node.addEventListener("peer:discovery", (evt) => {
    const peer = evt.detail.id;
    if (!sources.has(peer.toString())) sources.set(peer.toString(), "dht");
    if (node && node.getConnections(peer).length === 0 && !isBanned(peer.toString())) {
      void node.dial(peer).catch((err) => log("debug", `dial ${peer} failed: ${(err as Error).message}`));
    }
  });
  node.addEventListener("connection:open", (evt) => {
    const id = evt.detail.remotePeer.toString();
    if (!sources.has(id)) sources.set(id, evt.detail.direction === "inbound" ? "inbound" : "dial");
  });
  await node.handle(FETCH_PROTOCOL, handleFetch, { maxInboundStreams: MAX_FETCH_STREAMS });
  await node.handle(CATALOG_PROTOCOL, (stream) => handleCatalog(stream), { maxInboundStreams: 32 });
  const pubsub = node.services.pubsub;
  pubsub.topicValidators.set(ANNOUNCE_TOPIC, (peer, msg) => {
    try {
      const a = validateAnnouncement(msg.data);
      if (msg.type !== "signed" || msg.from.toString() !== a.peer_id) {
        throw new ValidationError(`announcement peer_id ${a.peer_id} is not its signer`);
      }
      return TopicValidatorResult.Accept;
    } catch (err) {
      judge(peer.toString(), "invalid-announcement", (err as Error).message);
      return TopicValidatorResult.Reject;
    }
  });
  pubsub.addEventListener("message", (evt) => {
    const msg = evt.detail;
    if (msg.topic !== ANNOUNCE_TOPIC) return;
    try {
      const announcement = validateAnnouncement(msg.data);
      if (msg.type === "signed" && msg.from.toString() !== announcement.peer_id) {
        throw new ValidationError(`announcement peer_id ${announcement.peer_id} is not its signer ${msg.from}`);
      }
      catalog?.add(announcement);
      post({ type: "announcement", announcement, from: msg.type === "signed" ? msg.from.toString() : "" });
    } catch (err) {
      log("debug", `dropped announcement: ${(err as Error).message}`);
    }
  });
  pubsub.subscribe(ANNOUNCE_TOPIC);
  for (const addr of bootstrapList) {
    const id = multiaddr(addr).getComponents().find((c) => c.name === "p2p")?.value;
    if (id) sources.set(id, "bootstrap");
    void node.dial(multiaddr(addr)).catch((err) => log("debug", `bootstrap ${addr}: ${(err as Error).message}`));
  }
  if (init.reprovideIntervalMs > 0) {
    const shutdown = AbortSignal.timeout(init.reprovideIntervalMs);
    void provideAll(shutdown).catch(() => {});
    reprovideTimer = setInterval(
      () => void provideAll(AbortSignal.timeout(init.reprovideIntervalMs)).catch(() => {}),
      init.reprovideIntervalMs,
    );
  }
  const listenAddrs = node.getMultiaddrs().map((a) => a.toString());
  log("debug", `node ${node.peerId} listening on ${listenAddrs.join(", ")}`);
  return { peerId: node.peerId.toString(), listenAddrs };
}

async function stop(): Promise<void> {
  if (reprovideTimer !== undefined) clearInterval(reprovideTimer);
  if (saveTimer !== undefined) clearTimeout(saveTimer);
  saveTimer = undefined;
  if (reputationFile) await writeJsonAtomic(reputationFile, reputation).catch(() => {});
  for (const c of controllers.values()) c.abort(new DOMException("Node stopping", "AbortError"));
  await node?.stop();
  node = undefined;
  catalog?.close();
  catalog = undefined;
}

function status(): NodeStatus {
  const n = requireNode();
  const peers = new Set(n.getConnections().map((c) => c.remotePeer.toString()));
  return {
    peerId: n.peerId.toString(),
    listenAddrs: n.getMultiaddrs().map((a) => a.toString()),
    peerCount: peers.size,
    routingTableSize: n.services.dht.routingTable.size,
    providedPackages: provided.size,
    catalogSize: catalog?.size() ?? 0,
    uptimeMs: Date.now() - startedAt,
    inboundDenied,
    bytesIn,
    bytesOut,
  };
}

async function peers(signal: AbortSignal): Promise<PeerSummary[]> {
  const n = requireNode();
  const byPeer = new Map<string, Connection>();
  for (const c of n.getConnections()) if (!byPeer.has(c.remotePeer.toString())) byPeer.set(c.remotePeer.toString(), c);
  return await Promise.all([...byPeer.entries()].map(async ([id, c]) => {
    let latencyMs: number | null = null;
    try {
      latencyMs = await n.services.ping.ping(c.remotePeer, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]),
      });
    } catch {
      // unreachable within a second: report no latency
    }
    return {
      peerId: id,
      address: c.remoteAddr.toString(),
      latencyMs,
      source: sources.get(id) ?? (c.direction === "inbound" ? "inbound" : "dial"),
      score: Math.round(reputation.score(id) * 10) / 10,
    };
  }));
}

/** Providers taken from any one responding peer, so a liar cannot fill the set with fakes */
const MAX_PROVIDERS_PER_RESPONDER = 5;
/** More providers than this in one answer is a flood (kBucketSize is 20) */
const MAX_PROVIDERS_IN_ANSWER = 100;
/** How long a provider lookup may go on once it has found one provider */
const FIND_PROVIDERS_BUDGET_MS = 3000;

async function findProviders(
  sha256: string,
  limit: number,
  signal: AbortSignal,
  retry = true,
): Promise<ProviderInfo[]> {
  const n = requireNode();
  const self = n.peerId.toString();
  const out = new Map<string, ProviderInfo>();
  const perResponder = new Map<string, number>();
  const flooders = new Set<string>();
  const cap = Math.min(limit, MAX_PROVIDERS_PER_KEY);
  const inner = new AbortController();
  // Once one provider is known, a lookup that drags on (slow peers, a flood to parse) is cut at
  // the budget: one verified provider is all an install needs
  const budget = setTimeout(() => {
    if (out.size > 0) inner.abort();
  }, FIND_PROVIDERS_BUDGET_MS);
  const both = AbortSignal.any([signal, inner.signal]);
  try {
    for await (const ev of n.services.dht.findProviders(cidFromSha256(sha256), { signal: both })) {
      if (ev.name !== "PROVIDER") continue;
      const from = ev.from.toString();
      // An honest peer knows a handful of providers; thousands in one answer is a flood, and js
      // kad-dht ends the lookup once it has kBucketSize providers, so a flood would crowd out the
      // honest ones: ban the flooder and look again without it
      if (from !== self && ev.providers.length > MAX_PROVIDERS_IN_ANSWER) {
        flooders.add(from);
        continue;
      }
      for (const p of ev.providers) {
        const id = p.id.toString();
        if (id === self || isBanned(id) || out.has(id)) continue;
        const taken = perResponder.get(from) ?? 0;
        if (from !== self && taken >= MAX_PROVIDERS_PER_RESPONDER) break;
        perResponder.set(from, taken + 1);
        if (p.multiaddrs.length) await n.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch(() => {});
        out.set(id, { peerId: id, addrs: p.multiaddrs.map((a) => a.toString()) });
        if (out.size >= cap) break;
      }
      if (out.size >= cap) {
        inner.abort();
        break;
      }
    }
  } catch (err) {
    if (!inner.signal.aborted && out.size === 0 && flooders.size === 0) throw err;
  } finally {
    clearTimeout(budget);
  }
  for (const f of flooders) {
    log("warn", `peer ${f} answered a provider lookup with a flood: banned`);
    reputation.ban(f);
    void n.hangUp(peerIdFromString(f)).catch(() => {});
  }
  if (flooders.size > 0) saveReputation();
  if (flooders.size > 0 && retry && !signal.aborted) {
    const again = await findProviders(sha256, limit, signal, false);
    for (const p of again) if (!out.has(p.peerId) && out.size < cap) out.set(p.peerId, p);
  }
  log("debug", `findProviders ${sha256.slice(0, 12)}: ${[...out.keys()].join(", ") || "none"}`);
  // Better-reputed first, in whole points, so equals are shuffled and downloads spread
  const keyed = [...out.values()].map((p) => ({ p, score: Math.floor(reputation.score(p.peerId)), r: Math.random() }));
  keyed.sort((a, b) => b.score - a.score || a.r - b.r);
  return keyed.map((k) => k.p);
}

async function putRecord(key: string, value: string, signal: AbortSignal): Promise<void> {
  const bytes = new TextEncoder().encode(value);
  await verifyRecord(key, bytes);
  for await (const _ of requireNode().services.dht.put(new TextEncoder().encode(key), bytes, { signal })) {
    // drain the query events
  }
}

async function getRecords(key: string, signal: AbortSignal): Promise<RecordValue[]> {
  const values = new Map<string, { seq: number; from: Set<string> }>();
  try {
    for await (const ev of requireNode().services.dht.get(new TextEncoder().encode(key), { signal })) {
      if (ev.name !== "VALUE") continue;
      try {
        const rec = await verifyRecord(key, ev.value);
        const text = new TextDecoder().decode(ev.value);
        const entry = values.get(text) ?? { seq: recordSeq(rec), from: new Set<string>() };
        entry.from.add(ev.from.toString());
        values.set(text, entry);
      } catch (err) {
        judge(ev.from.toString(), "invalid-record", `${key}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    if (values.size === 0 && !(err instanceof Error && /not found/i.test(err.message))) {
      log("debug", `get ${key}: ${(err as Error).message}`);
    }
  }
  return [...values.entries()].sort((a, b) => b[1].seq - a[1].seq).map(([value, e]) => ({ value, from: [...e.from] }));
}

async function searchPeers(text: string, limit: number, signal: AbortSignal): Promise<CatalogEntry[]> {
  const n = requireNode();
  const local = catalog?.search(text, limit) ?? [];
  const peerIds = [...new Set(n.getConnections().map((c) => c.remotePeer.toString()))].slice(0, MAX_CATALOG_PEERS);
  const remote = await Promise.all(peerIds.map(async (id) => {
    try {
      const s = AbortSignal.any([signal, AbortSignal.timeout(CATALOG_QUERY_TIMEOUT_MS)]);
      const stream = await n.dialProtocol(peerIdFromString(id), CATALOG_PROTOCOL, { signal: s });
      stream.send(encodeFrame({ text, limit }));
      await stream.close({ signal: s });
      const { frame } = await withTimeout(
        readFrame<CatalogEntry[]>(bytesOf(stream)[Symbol.asyncIterator]()),
        CATALOG_QUERY_TIMEOUT_MS,
        s,
        "catalog answer",
      );
      return Array.isArray(frame) ? frame.slice(0, limit) : [];
    } catch (err) {
      log("debug", `catalog query to ${id} failed: ${(err as Error).message}`);
      return [];
    }
  }));
  for (const list of remote) {
    for (const e of list) {
      try {
        const a: Announcement = validateAnnouncement(encodeJson({ ...e, type: "publish" }));
        catalog?.add(a);
      } catch {
        // a peer's bad entry is ignored
      }
    }
  }
  return catalog?.search(text, limit) ?? local;
}

async function waitCredit(id: number, signal: AbortSignal): Promise<void> {
  const c = credits.get(id)!;
  while (c.available <= 0) {
    signal.throwIfAborted();
    await new Promise<void>((resolve) => {
      c.wake = resolve;
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
  c.available--;
}

async function fetchBlob(msg: Extract<RequestMessage, { method: "fetch" }>, signal: AbortSignal): Promise<void> {
  const { peerId, sha256, offset, length, stallMs } = msg.params;
  const n = requireNode();
  if (isBanned(peerId)) throw new UnavailableError(`Peer ${peerId} is banned`);
  const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(Math.max(stallMs, 1000))]);
  const stream = await n.dialProtocol(peerIdFromString(peerId), FETCH_PROTOCOL, { signal: dialSignal });
  let replied = false;
  credits.set(msg.id, { available: INITIAL_CREDIT });
  try {
    stream.send(encodeFrame({ sha256, offset, ...(length !== undefined ? { length } : {}) } satisfies FetchRequest));
    await stream.close({ signal: dialSignal });
    const it = bytesOf(stream)[Symbol.asyncIterator]();
    const { frame, rest } = await withTimeout(readFrame<FetchResponseHeader>(it), stallMs, signal, `peer ${peerId}`);
    if (!frame.ok) throw new NotFoundError(`Peer ${peerId} cannot serve ${sha256}: ${frame.error}`);
    post(okReply(msg.id, { total: frame.total }));
    replied = true;
    let received = 0;
    const emit = async (chunk: Uint8Array) => {
      if (chunk.byteLength === 0) return;
      received += chunk.byteLength;
      bytesIn += chunk.byteLength;
      if (received > frame.length) {
        throw new ValidationError(`Peer ${peerId} sent more than the announced ${frame.length} bytes`);
      }
      await waitCredit(msg.id, signal);
      // Transfer, never clone. libp2p hands out Node Buffers, often views into a shared pool,
      // and Buffer#slice() is a view too: transferring such a buffer detaches memory libp2p still
      // uses (it corrupted noise frames on slow links). Only a plain Uint8Array that owns its
      // whole buffer is sent as is; anything else is first copied into one.
      const owned = Object.getPrototypeOf(chunk) === Uint8Array.prototype && chunk.byteOffset === 0 &&
          chunk.byteLength === chunk.buffer.byteLength
        ? chunk
        : new Uint8Array(chunk);
      post({ type: "chunk", id: msg.id, data: owned }, [owned.buffer as ArrayBuffer]);
    };
    await emit(rest);
    while (received < frame.length) {
      const { done, value } = await withTimeout(it.next(), stallMs, signal, `peer ${peerId} stalled`);
      if (done) break;
      await emit(value);
    }
    if (received !== frame.length) {
      throw new UnavailableError(`Peer ${peerId} disconnected after ${received} of ${frame.length} bytes`);
    }
    post({ type: "end", id: msg.id });
  } catch (err) {
    stream.abort(err as Error);
    if (!replied) throw err;
    post({ type: "stream-error", id: msg.id, error: serializeError(err) });
  } finally {
    credits.delete(msg.id);
  }
}

async function dispatch(msg: RequestMessage, signal: AbortSignal): Promise<unknown> {
  switch (msg.method) {
    case "start":
      return await start(msg.params);
    case "stop":
      return await stop();
    case "status":
      return status();
    case "peers":
      return await peers(signal);
    case "dial":
      await requireNode().dial(multiaddr(msg.params.multiaddr), { signal });
      return;
    case "provide":
      await requireNode().contentRouting.provide(cidFromSha256(msg.params.sha256), { signal });
      provided.add(msg.params.sha256);
      return;
    case "findProviders":
      return await findProviders(msg.params.sha256, msg.params.limit, signal);
    case "putRecord":
      return await putRecord(msg.params.key, msg.params.value, signal);
    case "getRecords":
      return await getRecords(msg.params.key, signal);
    case "announce": {
      const a = validateAnnouncement(encodeJson(msg.params.announcement));
      catalog?.add(a);
      await requireNode().services.pubsub.publish(ANNOUNCE_TOPIC, encodeJson(a));
      return;
    }
    case "search":
      return await searchPeers(msg.params.text, msg.params.limit, signal);
    case "penalize":
      judge(msg.params.peerId, msg.params.behaviour, msg.params.reason);
      return;
    case "ban":
      reputation.ban(msg.params.peerId, msg.params.ms);
      saveReputation();
      await requireNode().hangUp(peerIdFromString(msg.params.peerId)).catch(() => {});
      return;
    case "unban":
      reputation.unban(msg.params.peerId);
      saveReputation();
      return;
    case "banned":
      return reputation.banned();
    case "fetch":
      return await fetchBlob(msg, signal);
    default: {
      const never: never = msg;
      throw new ValidationError(`Unknown request ${JSON.stringify(never)}`);
    }
  }
}

async function handleRequest(msg: RequestMessage): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  // A fetch's deadline covers only the wait for its header; stalls are caught per chunk
  const signal = msg.method === "fetch"
    ? controller.signal
    : AbortSignal.any([controller.signal, AbortSignal.timeout(msg.timeoutMs)]);
  try {
    const value = await dispatch(msg, signal);
    if (msg.method !== "fetch") post(okReply(msg.id, value ?? null));
  } catch (err) {
    post(errorReply(msg.id, serializeError(err)));
  } finally {
    controllers.delete(msg.id);
  }
}

self.onmessage = (evt: MessageEvent<MainToWorker>) => {
  const msg = evt.data;
  switch (msg.type) {
    case "request":
      void handleRequest(msg);
      break;
    case "cancel":
      controllers.get(msg.id)?.abort(new DOMException("Cancelled", "AbortError"));
      break;
    case "credit": {
      const c = credits.get(msg.id);
      if (c) {
        c.available += msg.chunks;
        c.wake?.();
      }
      break;
    }
    default: {
      const never: never = msg;
      log("warn", `unknown message ${JSON.stringify(never)}`);
    }
  }
};
