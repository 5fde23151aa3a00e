/**
 * What the node knows of packages on the network: the catalog protocol
 * (`/ggen/catalog/1.0.0`, a peer's search answers) and gossipsub announcements on
 * `ggen/packages/announce`. Both feed the local catalog (`p2p.db`); every entry is validated
 * first, and an announcement must be signed by the peer it names.
 * @module
 */
import type { PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Message, TopicValidatorResult } from "@libp2p/gossipsub";
import {
  ANNOUNCE_TOPIC,
  CATALOG_PROTOCOL,
  DEFAULT_MIN_SOURCES,
  isValidPackageId,
  RateLimiter,
  sha256Hex,
  ValidationError,
} from "../../src/core/mod.ts";
import {
  type Announcement,
  type Catalog,
  type CatalogEntry,
  encodeFrame,
  encodeJson,
  readFrame,
  validateAnnouncement,
  verifyAnnouncement,
  type VouchedEntry,
} from "../../src/p2p/mod.ts";
import { createHeardHolders, statementKey } from "./heard_holders.ts";
import type { ReputationBook } from "./reputation_book.ts";
import { askQuorum, bytesOf, exchange, sendAll, withStallTimer } from "./streams.ts";
import type { Counters, Log, P2PLibp2p } from "./types.ts";

/** How long one peer may take to answer a catalog query */
const CATALOG_QUERY_TIMEOUT_MS = 2000;
/** Peers asked per search */
const MAX_CATALOG_PEERS = 16;
/** Versions of one package a peer answers with */
const MAX_VERSIONS_ANSWERED = 200;
/**
 * After half the peers answered, how long the rest still have. The slowest of 16 answers decided
 * a query's time (300-540 ms in a loaded 25-daemon LAN, where half answered far sooner); a
 * majority still has to answer, so fast liars alone cannot decide what is found
 */
const STRAGGLER_WINDOW_MS = 100;
/** How long the catalogs get when enough holders announced a version to this node already */
const HEARD_WINDOW_MS = 100;

/** A catalog query: a search, or with `id` every version of that package */
interface CatalogRequest {
  text: string;
  limit: number;
  id?: string;
}

/** Collaborators of the catalog service */
export interface CatalogServiceComponents {
  node: P2PLibp2p;
  catalog: Catalog;
  reputation: ReputationBook;
  log: Log;
  /** Called with each valid announcement heard */
  onAnnouncement(a: Announcement, from: string): void;
  /** Where validator verdicts are counted (metrics) */
  counters?: Counters;
}

/** Search and announcements */
export interface CatalogService {
  /** Register the protocol handler, the topic validator and subscribe */
  start(): Promise<void>;
  /** Local catalog merged with connected peers' answers */
  search(text: string, limit: number, signal: AbortSignal): Promise<CatalogEntry[]>;
  /** Every signed version of package `id` the connected peers' catalogs hold, with the peers that returned each */
  versionsOf(id: string, signal: AbortSignal): Promise<VouchedEntry[]>;
  /** Validate, record and publish an announcement */
  announce(a: Announcement): Promise<void>;
  /** Whether this node published an announcement (gossipsub sends it after `publish` returns) */
  published(): boolean;
}

/** Create the catalog service */
export function createCatalogService(components: CatalogServiceComponents): CatalogService {
  const { node, catalog, reputation, log } = components;
  // Announcements per peer: a burst of 64, then 10 a second
  const announceLimiter = new RateLimiter({ peerFetch: { burst: 64, refillMs: 100 } });
  // Signer of each message the validator accepted, until the message event takes it (bounded)
  const verified = new Map<string, string>();
  const msgKey = (data: Uint8Array) => sha256Hex(data);
  const heard = createHeardHolders();
  let published = false;

  async function answer(stream: Stream): Promise<void> {
    try {
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame } = await withStallTimer(
        readFrame<CatalogRequest>(it),
        5000,
        AbortSignal.timeout(10_000),
        "catalog request",
      );
      // `id` asks for every version of one package (a resolver's question); `text` is a search
      const byId = typeof frame.id === "string" && isValidPackageId(frame.id);
      const limit = Math.min(Math.max(1, Number(frame.limit) || 20), byId ? MAX_VERSIONS_ANSWERED : 50);
      const answer = byId
        ? catalog.versions(frame.id!).slice(0, limit)
        : catalog.search(String(frame.text ?? "").slice(0, 256), limit);
      await sendAll(stream, encodeFrame(answer));
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  async function ask(id: string, request: CatalogRequest, signal: AbortSignal): Promise<CatalogEntry[]> {
    const limit = request.limit;
    try {
      const frame = await exchange<CatalogEntry[]>(node, peerIdFromString(id), CATALOG_PROTOCOL, request, {
        timeoutMs: CATALOG_QUERY_TIMEOUT_MS,
        signal,
        what: "catalog answer",
      });
      return Array.isArray(frame) ? frame.slice(0, limit) : [];
    } catch (err) {
      log("debug", `catalog query to ${id} failed: ${(err as Error).message}`);
      return [];
    }
  }

  const connectedPeers = () =>
    [...new Set(node.getConnections().map((c) => c.remotePeer.toString()))].slice(0, MAX_CATALOG_PEERS);

  /**
   * Ask the connected peers; each answer in the order of `peers` (empty for a peer that failed or
   * was still silent once half had answered and {@link STRAGGLER_WINDOW_MS} passed, or, with
   * `windowMs`, once that long passed)
   */
  async function askPeers(
    request: CatalogRequest,
    signal: AbortSignal,
    windowMs?: number,
  ): Promise<{ peers: string[]; answers: CatalogEntry[][] }> {
    const peers = connectedPeers();
    const answers = await askQuorum(peers, (peer, asking) => ask(peer, request, asking), {
      signal,
      quorum: windowMs === undefined ? Math.ceil(peers.length / 2) : 0,
      windowMs: windowMs ?? STRAGGLER_WINDOW_MS,
      missing: [],
    });
    return { peers, answers };
  }

  /** Catalog answers are checked like announcements: signed by the publisher, or ignored; kept when they verify */
  async function keepVerified(e: CatalogEntry): Promise<boolean> {
    try {
      const { announcement, keyid } = await verifyAnnouncement(encodeJson({ ...e, type: "announce" }));
      catalog.add(announcement, keyid);
      return true;
    } catch (err) {
      log("debug", `ignored a catalog entry: ${(err as Error).message}`);
      return false;
    }
  }

  return {
    async start() {
      await node.handle(CATALOG_PROTOCOL, (stream) => answer(stream), { maxInboundStreams: 32 });
      const pubsub = node.services.pubsub;
      pubsub.topicValidators.set(ANNOUNCE_TOPIC, async (peer, msg) => {
        const verdict = await validate(peer, msg);
        if (components.counters) {
          const key = verdict === TopicValidatorResult.Accept
            ? "accept"
            : verdict === TopicValidatorResult.Reject
            ? "reject"
            : "ignore";
          components.counters.gossip[key] = (components.counters.gossip[key] ?? 0) + 1;
        }
        return verdict;
      });
      async function validate(peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
        // A banned signer stays banned when an honest peer relays its messages: ignore them
        // without penalising the relay
        if (msg.type === "signed" && reputation.isBanned(msg.from.toString())) return TopicValidatorResult.Ignore;
        // A per-peer rate: a flood of even valid announcements is dropped, and costs the flooder
        try {
          announceLimiter.take("peerFetch", peer.toString());
        } catch {
          reputation.judge(peer.toString(), "invalid-announcement", "announcement rate exceeded");
          return TopicValidatorResult.Ignore;
        }
        try {
          const { announcement: a, keyid } = await verifyAnnouncement(msg.data);
          if (msg.type !== "signed" || msg.from.toString() !== a.peer_id) {
            throw new ValidationError(`announcement peer_id ${a.peer_id} is not its signer`);
          }
          if (verified.size > 10_000) verified.clear();
          verified.set(msgKey(msg.data), keyid);
          return TopicValidatorResult.Accept;
        } catch (err) {
          reputation.judge(peer.toString(), "invalid-announcement", (err as Error).message);
          return TopicValidatorResult.Reject;
        }
      }
      pubsub.addEventListener("message", (evt) => {
        const msg = evt.detail;
        if (msg.topic !== ANNOUNCE_TOPIC) return;
        try {
          // Only messages the validator verified reach here; it remembered who signed each
          const keyid = verified.get(msgKey(msg.data));
          verified.delete(msgKey(msg.data));
          if (!keyid) throw new ValidationError("announcement not verified");
          const a = validateAnnouncement(msg.data);
          if (msg.type === "signed" && msg.from.toString() !== a.peer_id) {
            throw new ValidationError(`announcement peer_id ${a.peer_id} is not its signer ${msg.from}`);
          }
          if (msg.type === "signed") heard.note(a);
          if (catalog.add(a, keyid)) components.onAnnouncement(a, msg.type === "signed" ? msg.from.toString() : "");
        } catch (err) {
          log("debug", `dropped announcement: ${(err as Error).message}`);
        }
      });
      pubsub.subscribe(ANNOUNCE_TOPIC);
    },
    async search(text, limit, signal) {
      const { answers } = await askPeers({ text, limit }, signal);
      for (const list of answers) for (const e of list) await keepVerified(e);
      return catalog.search(text, limit);
    },
    async versionsOf(id, signal) {
      // The holders that announced a version to this node vouch for it as a catalog answer would;
      // when they are enough, the connected peers' catalogs only get a short window (for newer
      // versions and conflicting statements)
      const known = heard.of(id);
      const enough = known.some((row) => row.from.length >= DEFAULT_MIN_SOURCES);
      const { peers, answers } = await askPeers(
        { text: id, id, limit: MAX_VERSIONS_ANSWERED },
        signal,
        enough ? HEARD_WINDOW_MS : undefined,
      );
      // One row per distinct signed statement, with every peer that returned or announced it; each
      // statement is verified once (peers mostly return the same ones)
      // Copies: the catalog answerers added below vouch, but only the announcers are holders
      const vouched = new Map<string, VouchedEntry>(
        known.map((row) => [statementKey(row.entry), { entry: row.entry, from: [...row.from] }]),
      );
      const announcers = new Map(known.map((row) => [statementKey(row.entry), row.from]));
      const checked = new Map<string, boolean>();
      for (const [i, list] of answers.entries()) {
        for (const e of list) {
          if (e.package_id !== id) continue;
          const key = statementKey(e);
          // Exactly the same entry: a tampered copy never shares a verdict with an honest one
          const statement = JSON.stringify(e);
          if (!checked.has(statement)) checked.set(statement, await keepVerified(e));
          if (!checked.get(statement)) continue;
          const row = vouched.get(key) ?? { entry: e, from: [] };
          if (!row.from.includes(peers[i]!)) row.from.push(peers[i]!);
          vouched.set(key, row);
        }
      }
      // The announcers still connected hold the bytes: a download asks them before any lookup
      const connected = new Set(connectedPeers());
      return [...vouched.values()].map((row) => {
        const holders = announcers.get(statementKey(row.entry))?.filter((p) => connected.has(p)) ?? [];
        return holders.length ? { ...row, holders } : row;
      });
    },
    async announce(announcement) {
      const { announcement: a, keyid } = await verifyAnnouncement(encodeJson(announcement));
      catalog.add(a, keyid);
      await node.services.pubsub.publish(ANNOUNCE_TOPIC, encodeJson(a));
      published = true;
    },
    published: () => published,
  };
}
