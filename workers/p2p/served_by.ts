/**
 * Which peers served which blob, persisted in `$GGEN_HOME/served-by.json`: the first place a
 * provider lookup looks after the connected peers (design §13 item 5, "peers that served the
 * package before"), so a re-install finds its old source even when the DHT walk cannot. Bounded:
 * the newest blobs and the newest peers of each are kept; addresses are re-validated as multiaddrs
 * when read, and a banned peer is never asked.
 * @module
 */
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { isSha256Hex } from "../../src/core/mod.ts";
import type { ProviderInfo } from "../../src/p2p/mod.ts";
import type { Log } from "./types.ts";

/** Blobs remembered */
const MAX_BLOBS = 1000;
/** Peers remembered per blob */
const MAX_PEERS_PER_BLOB = 4;

/** Options of {@link createServedBy} */
export interface ServedByInit {
  /** Where the table persists; empty for memory only */
  file: string;
  /** @default 1000 */
  saveDelayMs?: number;
}

/** The table of past sources */
export interface ServedBy {
  /** `peerId` (reached at `addr`) delivered every byte it was asked for of `sha256` */
  record(sha256: string, peerId: string, addr: string | undefined): void;
  /** Peers that served `sha256` before, newest first */
  peersFor(sha256: string): ProviderInfo[];
  load(): Promise<void>;
  /** Write now and stop the save timer */
  stop(): Promise<void>;
}

/** Create the table */
export function createServedBy(components: { log: Log }, init: ServedByInit): ServedBy {
  /** sha256 → newest-first peers; Map order is the blobs' age */
  let table = new Map<string, ProviderInfo[]>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = async () => {
    if (!init.file) return;
    const tmp = `${init.file}.tmp-${crypto.randomUUID()}`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(Object.fromEntries(table)));
      await Deno.rename(tmp, init.file);
    } catch (err) {
      components.log("debug", `served-by: cannot write ${init.file}: ${(err as Error).message}`);
      await Deno.remove(tmp).catch(() => {});
    }
  };
  const save = () => {
    if (!init.file || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void write();
    }, init.saveDelayMs ?? 1000);
  };
  const valid = (p: unknown): p is ProviderInfo => {
    if (typeof p !== "object" || p === null) return false;
    const { peerId, addrs } = p as ProviderInfo;
    try {
      peerIdFromString(peerId);
      if (!Array.isArray(addrs) || addrs.length > 8) return false;
      for (const a of addrs) multiaddr(a);
      return true;
    } catch {
      return false;
    }
  };

  return {
    record(sha256, peerId, addr) {
      const before = (table.get(sha256) ?? []).filter((p) => p.peerId !== peerId);
      table.delete(sha256);
      table.set(sha256, [{ peerId, addrs: addr ? [addr] : [] }, ...before].slice(0, MAX_PEERS_PER_BLOB));
      while (table.size > MAX_BLOBS) table.delete(table.keys().next().value!);
      save();
    },
    peersFor: (sha256) => table.get(sha256) ?? [],
    async load() {
      if (!init.file) return;
      let data: unknown;
      try {
        data = JSON.parse(await Deno.readTextFile(init.file));
      } catch {
        return; // none yet, or unreadable: start empty
      }
      if (typeof data !== "object" || data === null) return;
      const entries = Object.entries(data as Record<string, unknown>)
        .filter(([sha, peers]) => isSha256Hex(sha) && Array.isArray(peers))
        .map(([sha, peers]) => [sha, (peers as unknown[]).filter(valid).slice(0, MAX_PEERS_PER_BLOB)] as const);
      table = new Map(entries.slice(-MAX_BLOBS));
    },
    async stop() {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
        await write();
      }
    },
  };
}
