/**
 * What the node knows of packages on the network: the catalog protocol
 * (`/ggen/catalog/1.0.0`, a peer's search answers) and gossipsub announcements on
 * `ggen/packages/announce`. Both feed the local catalog (`p2p.db`); every entry is validated
 * first, and an announcement must be signed by the peer it names.
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { TopicValidatorResult } from "@libp2p/gossipsub";
import { ANNOUNCE_TOPIC, CATALOG_PROTOCOL, ValidationError } from "../../src/core/mod.ts";
import {
  type Announcement,
  type Catalog,
  type CatalogEntry,
  encodeFrame,
  encodeJson,
  readFrame,
  validateAnnouncement,
} from "../../src/p2p/mod.ts";
import type { ReputationBook } from "./reputation_book.ts";
import { bytesOf, sendAll, withStallTimer } from "./streams.ts";
import type { Log, P2PLibp2p } from "./types.ts";

/** How long one peer may take to answer a catalog query */
const CATALOG_QUERY_TIMEOUT_MS = 2000;
/** Peers asked per search */
const MAX_CATALOG_PEERS = 16;

/** Collaborators of the catalog service */
export interface CatalogServiceComponents {
  node: P2PLibp2p;
  catalog: Catalog;
  reputation: ReputationBook;
  log: Log;
  /** Called with each valid announcement heard */
  onAnnouncement(a: Announcement, from: string): void;
}

/** Search and announcements */
export interface CatalogService {
  /** Register the protocol handler, the topic validator and subscribe */
  start(): Promise<void>;
  /** Local catalog merged with connected peers' answers */
  search(text: string, limit: number, signal: AbortSignal): Promise<CatalogEntry[]>;
  /** Validate, record and publish an announcement */
  announce(a: Announcement): Promise<void>;
}

/** Create the catalog service */
export function createCatalogService(components: CatalogServiceComponents): CatalogService {
  const { node, catalog, reputation, log } = components;

  async function answer(stream: Stream): Promise<void> {
    try {
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame } = await withStallTimer(
        readFrame<{ text: string; limit: number }>(it),
        5000,
        AbortSignal.timeout(10_000),
        "catalog request",
      );
      const limit = Math.min(Math.max(1, Number(frame.limit) || 20), 50);
      await sendAll(stream, encodeFrame(catalog.search(String(frame.text ?? "").slice(0, 256), limit)));
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  async function ask(id: string, text: string, limit: number, signal: AbortSignal): Promise<CatalogEntry[]> {
    try {
      const s = AbortSignal.any([signal, AbortSignal.timeout(CATALOG_QUERY_TIMEOUT_MS)]);
      const stream = await node.dialProtocol(peerIdFromString(id), CATALOG_PROTOCOL, { signal: s });
      stream.send(encodeFrame({ text, limit }));
      await stream.close({ signal: s });
      const { frame } = await withStallTimer(
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
  }

  return {
    async start() {
      await node.handle(CATALOG_PROTOCOL, (stream) => answer(stream), { maxInboundStreams: 32 });
      const pubsub = node.services.pubsub;
      pubsub.topicValidators.set(ANNOUNCE_TOPIC, (peer, msg) => {
        // A banned signer stays banned when an honest peer relays its messages: ignore them
        // without penalising the relay
        if (msg.type === "signed" && reputation.isBanned(msg.from.toString())) return TopicValidatorResult.Ignore;
        try {
          const a = validateAnnouncement(msg.data);
          if (msg.type !== "signed" || msg.from.toString() !== a.peer_id) {
            throw new ValidationError(`announcement peer_id ${a.peer_id} is not its signer`);
          }
          return TopicValidatorResult.Accept;
        } catch (err) {
          reputation.judge(peer.toString(), "invalid-announcement", (err as Error).message);
          return TopicValidatorResult.Reject;
        }
      });
      pubsub.addEventListener("message", (evt) => {
        const msg = evt.detail;
        if (msg.topic !== ANNOUNCE_TOPIC) return;
        try {
          const a = validateAnnouncement(msg.data);
          if (msg.type === "signed" && msg.from.toString() !== a.peer_id) {
            throw new ValidationError(`announcement peer_id ${a.peer_id} is not its signer ${msg.from}`);
          }
          catalog.add(a);
          components.onAnnouncement(a, msg.type === "signed" ? msg.from.toString() : "");
        } catch (err) {
          log("debug", `dropped announcement: ${(err as Error).message}`);
        }
      });
      pubsub.subscribe(ANNOUNCE_TOPIC);
    },
    async search(text, limit, signal) {
      const peers = [...new Set(node.getConnections().map((c) => c.remotePeer.toString()))].slice(0, MAX_CATALOG_PEERS);
      const answers = await Promise.all(peers.map((id) => ask(id, text, limit, signal)));
      for (const list of answers) {
        for (const e of list) {
          try {
            catalog.add(validateAnnouncement(encodeJson({ ...e, type: "publish" })));
          } catch (err) {
            log("debug", `ignored a catalog entry: ${(err as Error).message}`);
          }
        }
      }
      return catalog.search(text, limit);
    },
    async announce(announcement) {
      const a = validateAnnouncement(encodeJson(announcement));
      catalog.add(a);
      await node.services.pubsub.publish(ANNOUNCE_TOPIC, encodeJson(a));
    },
  };
}
