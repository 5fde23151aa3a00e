import assert from "node:assert/strict";
import type { Announcement } from "../../src/p2p/mod.ts";
import { createHeardHolders } from "./heard_holders.ts";

const announcement = (peer: string, o: Partial<Announcement> = {}): Announcement => ({
  type: "announce",
  package_id: "io.heard.pkg",
  version: "1.0.0",
  peer_id: peer,
  sha256: "a".repeat(64),
  timestamp: "2026-12-01T00:00:00.000Z",
  name: "Pkg",
  description: "d",
  size_bytes: 10,
  tags: [],
  dependencies: {},
  publisher_key: "key-1",
  ...o,
});

Deno.test("heard holders: one row per signed statement with its distinct announcers, bounded", () => {
  const heard = createHeardHolders();
  heard.note(announcement("p1"));
  heard.note(announcement("p2"));
  heard.note(announcement("p1"));
  // Another publisher key for the same version is another statement: it never adds to the first
  heard.note(announcement("p3", { publisher_key: "key-2" }));
  heard.note(announcement("p4", { package_id: "io.heard.other" }));
  const rows = heard.of("io.heard.pkg");
  assert.deepEqual(rows.map((r) => [r.entry.publisher_key, r.from]), [["key-1", ["p1", "p2"]], ["key-2", ["p3"]]]);
  assert.equal("type" in rows[0]!.entry, false);
  // A copy: the caller may add to it
  rows[0]!.from.push("x");
  assert.deepEqual(heard.of("io.heard.pkg")[0]!.from, ["p1", "p2"]);
  // At most 64 announcers per statement, at most 10,000 statements (the longest unheard goes)
  for (let i = 0; i < 100; i++) heard.note(announcement(`many-${i}`, { version: "2.0.0" }));
  assert.equal(heard.of("io.heard.pkg").find((r) => r.entry.version === "2.0.0")!.from.length, 64);
  for (let i = 0; i < 10_000; i++) heard.note(announcement("p", { package_id: `io.flood.p${i}` }));
  assert.deepEqual(heard.of("io.heard.pkg"), []);
  assert.equal(heard.of("io.flood.p9999").length, 1);
});
