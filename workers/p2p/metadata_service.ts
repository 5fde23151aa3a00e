/**
 * Re-shared registry documents: `/ggen/metadata/1.0.0` serves the registry-signed package
 * documents this node's home keeps (`$GGEN_HOME/metadata`, written by the CLI after it
 * verified them), and asks connected peers for theirs. Nothing is verified here: the documents
 * are the registry's, and the main thread checks them against the pinned registry key exactly
 * as it checks central's answers (TUF-style: the origin may be down, its signature still holds).
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { isValidPackageId, MAX_SHARED_DOCUMENT_BYTES, METADATA_PROTOCOL } from "../../src/core/mod.ts";
import { encodeFrame, readFrame, type SharedDocument } from "../../src/p2p/mod.ts";
import { join } from "node:path";
import { askQuorum, bytesOf, sendAll, withStallTimer } from "./streams.ts";
import type { Log, P2PLibp2p } from "./types.ts";

/** Time one peer has to answer */
const ASK_TIMEOUT_MS = 3000;
/** Peers asked per lookup */
const MAX_PEERS_ASKED = 8;
/**
 * After the first document arrived, how long the other peers still have: the slowest of 8
 * decided the time of every install that resolved through a re-shared document
 */
const STRAGGLER_WINDOW_MS = 100;

type Header = { ok: true; length: number } | { ok: false; error: string };

/** The metadata service */
export interface MetadataService {
  /** Register the protocol handler */
  start(): Promise<void>;
  /** Documents of `id` from connected peers, at most one per peer */
  get(id: string, signal: AbortSignal): Promise<SharedDocument[]>;
}

/** Create the service; `dir` is the metadata cache directory it serves */
export function createMetadataService(
  components: { node: P2PLibp2p; log: Log },
  init: { dir: string },
): MetadataService {
  const { node, log } = components;

  async function answer(stream: Stream): Promise<void> {
    try {
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame } = await withStallTimer(
        readFrame<{ package_id?: unknown }>(it),
        5000,
        AbortSignal.timeout(10_000),
        "metadata request",
      );
      const id = String(frame.package_id ?? "");
      let bytes: Uint8Array | undefined;
      if (isValidPackageId(id)) {
        try {
          // the layout of src/store/metadata_cache.ts: `<dir>/<id>.json`, the id checked above
          const path = join(init.dir, `${id}.json`);
          if ((await Deno.stat(path)).size <= MAX_SHARED_DOCUMENT_BYTES) bytes = await Deno.readFile(path);
        } catch {
          // not kept here
        }
      }
      if (!bytes) {
        await sendAll(stream, encodeFrame({ ok: false, error: "not held" } satisfies Header));
      } else {
        await sendAll(stream, encodeFrame({ ok: true, length: bytes.byteLength } satisfies Header));
        await sendAll(stream, bytes);
      }
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  async function ask(peer: P2PLibp2p["peerId"], id: string, signal: AbortSignal): Promise<SharedDocument | undefined> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(ASK_TIMEOUT_MS)]);
    const stream = await node.dialProtocol(peer, METADATA_PROTOCOL, { signal: deadline });
    try {
      stream.send(encodeFrame({ package_id: id }));
      await stream.close({ signal: deadline });
      const it = bytesOf(stream)[Symbol.asyncIterator]();
      const { frame, rest } = await withStallTimer(readFrame<Header>(it), ASK_TIMEOUT_MS, deadline, "metadata answer");
      if (!frame.ok) return undefined;
      const length = Number(frame.length);
      if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_SHARED_DOCUMENT_BYTES) {
        throw new RangeError(`declared a document of ${frame.length} bytes`);
      }
      const parts: Uint8Array[] = [rest];
      let got = rest.byteLength;
      while (got < length) {
        const { done, value } = await withStallTimer(it.next(), ASK_TIMEOUT_MS, deadline, "metadata bytes");
        if (done) throw new RangeError(`sent ${got} of ${length} bytes`);
        parts.push(value);
        got += value.byteLength;
      }
      if (got !== length) throw new RangeError(`sent ${got} bytes, declared ${length}`);
      const all = new Uint8Array(length);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.byteLength;
      }
      return { from: peer.toString(), document: new TextDecoder().decode(all) };
    } finally {
      stream.abort(new Error("answer read"));
    }
  }

  return {
    async start() {
      await node.handle(METADATA_PROTOCOL, (stream) => answer(stream), { maxInboundStreams: 16 });
    },
    async get(id, signal) {
      if (!isValidPackageId(id)) return [];
      const peers = [...new Map(node.getConnections().map((c) => [c.remotePeer.toString(), c.remotePeer])).values()]
        .slice(0, MAX_PEERS_ASKED);
      // Most peers answer "not held". Once one sent a document, the others have a short window:
      // the main thread takes the newest by the registry's signed seq, so a stale document wins
      // only when every holder of the newer one is that much slower
      const answers = await askQuorum(
        peers,
        (p, asking) =>
          ask(p, id, asking).catch((err) => {
            log("debug", `metadata of ${id} from ${p}: ${(err as Error).message}`);
            return undefined;
          }),
        { signal, quorum: 1, windowMs: STRAGGLER_WINDOW_MS, missing: undefined, counts: (a) => a !== undefined },
      );
      return answers.filter((a): a is SharedDocument => a !== undefined);
    },
  };
}
