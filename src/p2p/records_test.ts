import assert from "node:assert/strict";
import { ValidationError } from "../core/errors.ts";
import type { PackageVersion } from "../core/package.ts";
import {
  announcementOf,
  encodeJson,
  indexKey,
  selectRecord,
  validateAnnouncement,
  validateRecord,
  versionKey,
  versionRecordOf,
} from "./records.ts";

const V: PackageVersion = {
  id: "io.rec.pkg",
  version: "1.2.3",
  name: "Pkg",
  description: "d",
  tags: ["t"],
  keywords: [],
  sha256: "c".repeat(64),
  size: 10,
  dependencies: { "io.rec.dep": "^1" },
  yanked: false,
  published_at: "2026-01-01T00:00:00Z",
};

Deno.test("validateRecord() accepts a well-formed version and index record", () => {
  const r = versionRecordOf(V, "12D3KooWpeer", 1000);
  assert.equal(validateRecord(versionKey(V.id, V.version), encodeJson(r)).package_id, V.id);
  const index = {
    type: "ggen.index/1",
    package_id: V.id,
    versions: [{ version: "1.2.3", sha256: V.sha256 }],
    publisher: "p",
    timestamp: 1,
  };
  assert.equal(validateRecord(indexKey(V.id), encodeJson(index)).type, "ggen.index/1");
});

Deno.test("validateRecord() refuses bad records", async (t) => {
  const good = versionRecordOf(V, "12D3KooWpeer", 1000);
  const key = versionKey(V.id, V.version);
  const cases: [string, string, unknown][] = [
    ["other package under this key", versionKey("io.rec.other", "1.2.3"), good],
    ["other version under this key", versionKey(V.id, "9.9.9"), good],
    ["bad sha256", key, { ...good, sha256: "xyz" }],
    ["negative size", key, { ...good, size_bytes: -1 }],
    ["future timestamp", key, { ...good, timestamp: Date.now() + 3_600_000 }],
    ["wrong type", key, { ...good, type: "ggen.index/1" }],
    ["oversized", key, { ...good, description: "x".repeat(20_000) }],
    ["bad dependency", key, { ...good, dependencies: { "io.rec.dep": "not a range" } }],
    ["not in the namespace", "/pk/abc", good],
  ];
  for (const [name, k, value] of cases) {
    await t.step(name, () => {
      assert.throws(() => validateRecord(k, encodeJson(value)), ValidationError);
    });
  }
  await t.step(
    "not JSON",
    () => assert.throws(() => validateRecord(key, new Uint8Array([0xff, 0xfe])), ValidationError),
  );
});

Deno.test("selectRecord() picks the newest valid record; invalid ones never win", () => {
  const key = versionKey(V.id, V.version);
  const older = encodeJson(versionRecordOf(V, "p", 1000));
  const newer = encodeJson(versionRecordOf(V, "p", 2000));
  const forged = encodeJson({ ...versionRecordOf(V, "p", 3000), sha256: "bad" });
  assert.equal(selectRecord(key, [older, newer]), 1);
  assert.equal(selectRecord(key, [forged, older, newer]), 2);
});

Deno.test("validateAnnouncement() accepts a publish and refuses garbage", () => {
  const a = announcementOf(V, "12D3KooWpeer", 1000);
  assert.equal(validateAnnouncement(encodeJson(a)).package_id, V.id);
  assert.throws(() => validateAnnouncement(encodeJson({ ...a, type: "delete" })), ValidationError);
  assert.throws(() => validateAnnouncement(encodeJson({ ...a, package_id: "NOT AN ID" })), ValidationError);
});
