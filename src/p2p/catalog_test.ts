import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { generateKey, loadSigner, signVersion } from "../trust/mod.ts";
import { announcementOf, openCatalog, verifyAnnouncement } from "./mod.ts";
import { encodeJson } from "./record_values.ts";

async function signed(dir: string, key: string, id: string, timestamp: number) {
  const signer = await loadSigner(dir, key);
  const v = await signVersion(
    {
      id,
      version: "1.0.0",
      name: id,
      description: "d",
      tags: [],
      keywords: [],
      sha256: "b".repeat(64),
      size: 1,
      dependencies: {},
      yanked: false,
      published_at: "2026-01-01T00:00:00Z",
    },
    signer,
    1,
  );
  return await verifyAnnouncement(encodeJson(announcementOf(v, "12D3KooWpeer", timestamp)));
}

Deno.test("catalog: a quota per publisher key, a cap with eviction of the oldest, signatures re-served", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await generateKey(dir, "a");
    await generateKey(dir, "b");
    const catalog = openCatalog(":memory:", { maxPerPublisher: 5, maxEntries: 8 });
    let stored = 0;
    for (let i = 0; i < 10; i++) {
      const { announcement, keyid } = await signed(dir, "a", `io.quota.a${i}`, 1000 + i);
      if (catalog.add(announcement, keyid)) stored++;
    }
    assert.equal(stored, 5, "publisher a is held to its quota");
    for (let i = 0; i < 5; i++) {
      const { announcement, keyid } = await signed(dir, "b", `io.quota.b${i}`, 2000 + i);
      assert.equal(catalog.add(announcement, keyid), true);
    }
    assert.equal(catalog.size(), 8, "capped");
    assert.deepEqual(catalog.versions("io.quota.a0"), [], "the oldest were evicted");
    const entry = catalog.versions("io.quota.b4")[0]!;
    const again = await verifyAnnouncement(encodeJson({ ...entry, type: "announce" }));
    assert.equal(again.announcement.package_id, "io.quota.b4", "a re-served entry still verifies");
    catalog.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("catalog: unsigned entries of an older catalog are dropped on open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "p2p.db");
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE catalog (
      package_id TEXT NOT NULL, version TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
      sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL, tags TEXT NOT NULL, dependencies TEXT NOT NULL,
      peer_id TEXT NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (package_id, version));
      INSERT INTO catalog VALUES ('io.fake.pkg', '1.0.0', 'fake', 'a fake description', '${
      "c".repeat(64)
    }', 1, '[]', '{}', 'p', 1);`);
    db.close();
    const catalog = openCatalog(path);
    assert.equal(catalog.size(), 0);
    assert.deepEqual(catalog.search("fake", 5), []);
    catalog.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
