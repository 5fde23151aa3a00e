/**
 * The newest verified DHT record seen per key, with its seq: `$GGEN_HOME/p2p-records.json`.
 * js kad-dht stores any valid record on PUT_VALUE without comparing it with a newer one it holds,
 * so a replayed old record can win a lookup; the client keeps this high-water mark and refuses to
 * go back.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.ts";

/** A high-water record store */
export interface RecordCache {
  /** The value of a key, if present and fresh */
  get(key: string): { seq: number; value: string } | undefined;
  /** Remember `value` when `seq` is above what is kept; written atomically */
  offer(key: string, seq: number, value: string): Promise<void>;
}

/** Most keys kept; the oldest entries go first */
const MAX_KEYS = 10_000;

/** Open the record cache of `home` */
export async function openRecordCache(home: string): Promise<RecordCache> {
  const path = join(home, "p2p-records.json");
  let data: Record<string, { seq: number; value: string }> = {};
  try {
    data = JSON.parse(await Deno.readTextFile(path));
  } catch {
    data = {};
  }
  return {
    get: (key) => data[key],
    async offer(key, seq, value) {
      if ((data[key]?.seq ?? -1) >= seq) return;
      delete data[key];
      data[key] = { seq, value };
      const keys = Object.keys(data);
      for (const k of keys.slice(0, Math.max(0, keys.length - MAX_KEYS))) delete data[k];
      await writeFileAtomic(path, JSON.stringify(data));
    },
  };
}
