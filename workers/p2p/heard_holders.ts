/**
 * Who announced holding what: each publisher-signed statement (package, version, bytes, publisher
 * key) with the peers that announced it about themselves (a gossip message signed by the peer it
 * names). A daemon hears these as they happen, so a version several holders announced needs no
 * catalog round trip to count its vouchers; bounded in statements and in holders per statement.
 * @module
 */
import type { Announcement, CatalogEntry, VouchedEntry } from "../../src/p2p/mod.ts";

/** Statements remembered; the longest-unheard is forgotten past it */
const MAX_STATEMENTS = 10_000;
/** Holders remembered per statement */
const MAX_HOLDERS = 64;

/** The key of a publisher-signed statement: what vouchers agree on */
export const statementKey = (e: CatalogEntry): string =>
  `${e.package_id}\0${e.version}\0${e.sha256}\0${e.publisher_key ?? ""}`;

/** The book of announced holders */
export interface HeardHolders {
  /** Remember a verified announcement whose gossip signer is `a.peer_id` */
  note(a: Announcement): void;
  /** Every statement about package `id` with the peers that announced holding it */
  of(id: string): VouchedEntry[];
}

/** Create an empty book */
export function createHeardHolders(): HeardHolders {
  const byStatement = new Map<string, VouchedEntry>();
  return {
    note(a) {
      const key = statementKey(a);
      const { type: _type, ...entry } = a;
      const row = byStatement.get(key) ?? { entry, from: [] };
      // Most recently heard last: the oldest statement is the first one forgotten
      byStatement.delete(key);
      byStatement.set(key, row);
      if (!row.from.includes(a.peer_id) && row.from.length < MAX_HOLDERS) row.from.push(a.peer_id);
      if (byStatement.size > MAX_STATEMENTS) byStatement.delete(byStatement.keys().next().value!);
    },
    of(id) {
      return [...byStatement.values()]
        .filter((row) => row.entry.package_id === id)
        .map((row) => ({ entry: row.entry, from: [...row.from] }));
    },
  };
}
