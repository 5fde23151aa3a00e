/**
 * Signed DHT records under `/ggen/…`: a put verifies before it stores; a get returns every
 * distinct valid value with the peers that returned it, highest seq first, penalising peers
 * that return invalid ones. "Not found" (no value anywhere) is an empty answer; a lookup that
 * fails or times out without any value is an {@link UnavailableError}, never "not found".
 * @module
 */
import { UnavailableError } from "../../src/core/mod.ts";
import { recordSeq, type RecordValue, verifyRecord } from "../../src/p2p/mod.ts";
import type { ReputationBook } from "./reputation_book.ts";
import { type Counters, countLookup, type Log, type P2PLibp2p } from "./types.ts";

/** How long a lookup goes on after its first valid value */
const RECORD_SETTLE_MS = 300;

/** Collaborators of the record service */
export interface RecordServiceComponents {
  node: P2PLibp2p;
  reputation: ReputationBook;
  log: Log;
  /** Where lookups are counted (metrics) */
  counters?: Counters;
}

/** Put and get records */
export interface RecordService {
  put(key: string, value: string, signal: AbortSignal): Promise<void>;
  get(key: string, signal: AbortSignal): Promise<RecordValue[]>;
}

/** Create the record service */
export function createRecordService(components: RecordServiceComponents): RecordService {
  const { node, reputation, log } = components;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    async put(key, value, signal) {
      const bytes = enc.encode(value);
      await verifyRecord(key, bytes);
      for await (const _ of node.services.dht.put(enc.encode(key), bytes, { signal })) {
        // drain the query events
      }
    },
    async get(key, signal) {
      const values = new Map<string, { seq: number; from: Set<string> }>();
      // Once a valid value is in, the walk gets a short while more for newer values and more
      // vouchers, not the whole walk through every dead or slow peer
      const started = performance.now();
      const settled = new AbortController();
      let settle: ReturnType<typeof setTimeout> | undefined;
      try {
        const both = AbortSignal.any([signal, settled.signal]);
        for await (const ev of node.services.dht.get(enc.encode(key), { signal: both })) {
          // kad-dht's get yields only the best VALUE; every peer's own answer is in its PEER_RESPONSE,
          // and those are what tell how many distinct peers hold a value
          const answer = ev.name === "VALUE"
            ? { value: ev.value, from: ev.from }
            : ev.name === "PEER_RESPONSE" && ev.record
            ? { value: ev.record.value, from: ev.from }
            : undefined;
          if (!answer) continue;
          const { value } = answer;
          try {
            const rec = await verifyRecord(key, value);
            const text = dec.decode(value);
            const entry = values.get(text) ?? { seq: recordSeq(rec), from: new Set<string>() };
            entry.from.add(answer.from.toString());
            values.set(text, entry);
            settle ??= setTimeout(() => settled.abort(), RECORD_SETTLE_MS);
          } catch (err) {
            reputation.judge(answer.from.toString(), "invalid-record", `${key}: ${(err as Error).message}`);
          }
        }
      } catch (err) {
        // kad-dht ends a lookup that found nothing with its NotFoundError: that is an answer
        const notFound = err instanceof Error && err.name === "NotFoundError";
        if (values.size === 0 && !notFound && !settled.signal.aborted) {
          log("debug", `get ${key}: ${(err as Error).message}`);
          countLookup(components.counters, "record", (performance.now() - started) / 1000, 0);
          throw new UnavailableError(`DHT lookup of ${key} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      clearTimeout(settle);
      countLookup(components.counters, "record", (performance.now() - started) / 1000, values.size);
      return [...values.entries()].sort((a, b) => b[1].seq - a[1].seq).map(([value, e]) => ({
        value,
        from: [...e.from],
      }));
    },
  };
}
