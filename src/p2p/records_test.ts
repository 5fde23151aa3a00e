import assert from "node:assert/strict";
import { ValidationError } from "../core/errors.ts";
import type { PackageVersion } from "../core/package.ts";
import { fingerprint, type Signer } from "../core/envelope.ts";
import { toBase64 } from "../core/bytes.ts";
import { signVersion } from "../trust/sign.ts";
import {
  agreeOnVersion,
  announcementOf,
  encodeJson,
  indexKey,
  recordSeq,
  selectRecord,
  signedIndexRecord,
  validateAnnouncement,
  validateRecord,
  verifyRecord,
  versionKey,
  versionRecordOf,
} from "./mod.ts";

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
    ["provider with a bad PeerId", key, {
      ...good,
      providers: [{ peer_id: "0OIl", multiaddr: "/ip4/10.0.0.1/tcp/1", last_seen: "2026-01-01T00:00:00Z" }],
    }],
    ["provider with escape characters", key, {
      ...good,
      providers: [{ peer_id: "12D3KooWpeer", multiaddr: "/ip4/\u001b[2J", last_seen: "2026-01-01T00:00:00Z" }],
    }],
    ["provider seen at a local time", key, {
      ...good,
      providers: [{ peer_id: "12D3KooWpeer", multiaddr: "/ip4/10.0.0.1/tcp/1", last_seen: "2026-01-01 00:00" }],
    }],
    ["21 providers", key, {
      ...good,
      providers: Array.from(
        { length: 21 },
        () => ({ peer_id: "12D3KooWpeer", multiaddr: "/ip4/10.0.0.1/tcp/1", last_seen: "2026-01-01T00:00:00Z" }),
      ),
    }],
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

async function signer(): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { keyid: fingerprint(raw), privateKey: pair.privateKey, publicKeyRaw: raw };
}

Deno.test("verifyRecord() needs a valid publisher signature over exactly this record", async () => {
  const key = versionKey(V.id, V.version);
  const s = await signer();
  const signed = await signVersion(V, s, 7);
  const good = versionRecordOf(signed, "p", 1000);
  assert.equal((await verifyRecord(key, encodeJson(good))).package_id, V.id);
  assert.equal(recordSeq(good), 7);
  await assert.rejects(verifyRecord(key, encodeJson(versionRecordOf(V, "p", 1000))), /unsigned record/);
  await assert.rejects(verifyRecord(key, encodeJson({ ...good, sha256: "d".repeat(64) })), /bad signature/);
  const other = await signVersion({ ...V, version: "9.9.9" }, s, 8);
  await assert.rejects(verifyRecord(key, encodeJson({ ...good, signature: other.signature })), /bad signature/);
  const stranger = await signer();
  await assert.rejects(
    verifyRecord(key, encodeJson({ ...good, publisher_key: toBase64(stranger.publicKeyRaw) })),
    /bad signature/,
  );
  const index = await signedIndexRecord(V.id, [{ version: V.version, sha256: V.sha256 }], "p", s, 2000);
  assert.equal((await verifyRecord(indexKey(V.id), encodeJson(index))).type, "ggen.index/1");
  await assert.rejects(verifyRecord(indexKey(V.id), encodeJson({ ...index, versions: [] })), /does not cover/);
});

Deno.test("selectRecord() picks the highest signed seq; invalid ones never win", async () => {
  const key = versionKey(V.id, V.version);
  const s = await signer();
  const older = encodeJson(versionRecordOf(await signVersion(V, s, 1), "p", 1000));
  const newer = encodeJson(versionRecordOf(await signVersion(V, s, 2), "p", 1000));
  const forged = encodeJson({ ...versionRecordOf(await signVersion(V, s, 3), "p", 3000), sha256: "bad" });
  assert.equal(selectRecord(key, [older, newer]), 1);
  assert.equal(selectRecord(key, [forged, newer, older]), 1);
});

Deno.test("validateAnnouncement() accepts a publish and refuses garbage", () => {
  const a = announcementOf(V, "12D3KooWpeer", 1000);
  assert.equal(validateAnnouncement(encodeJson(a)).package_id, V.id);
  assert.throws(() => validateAnnouncement(encodeJson({ ...a, type: "delete" })), ValidationError);
  assert.throws(() => validateAnnouncement(encodeJson({ ...a, package_id: "NOT AN ID" })), ValidationError);
});

Deno.test("agreeOnVersion() takes agreeing answers, lets a pinned key settle a disagreement, refuses otherwise", async () => {
  const key = versionKey(V.id, V.version);
  const alice = await signer();
  const mallory = await signer();
  const a = JSON.stringify(versionRecordOf(await signVersion(V, alice, 1), "p", 1000));
  const a2 = JSON.stringify(versionRecordOf(await signVersion(V, alice, 2), "p", 1000));
  const m = JSON.stringify(versionRecordOf(await signVersion({ ...V, sha256: "f".repeat(64) }, mallory, 9), "p", 1000));
  assert.equal(agreeOnVersion(key, [{ value: a, from: ["p1"] }, { value: a2, from: ["p2", "p3"] }], [])?.value, a2);
  assert.throws(
    () => agreeOnVersion(key, [{ value: a, from: ["p1", "p2"] }, { value: m, from: ["evil1"] }], []),
    /peers disagree .* from p1, p2; .* from evil1/,
  );
  assert.equal(
    agreeOnVersion(key, [{ value: a, from: ["p1"] }, { value: m, from: ["evil1", "evil2"] }], [alice.keyid])?.value,
    a,
  );
  assert.equal(agreeOnVersion(key, [], []), undefined);
});
