import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { createFsBlobStore } from "./blobs.ts";
import { openSqliteMetadata } from "./db.ts";
import { blobStoreConformance, metadataStoreConformance } from "./_storage_conformance.ts";

Deno.test("storage conformance: SQLite metadata and file blobs", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await metadataStoreConformance(t, "sqlite", () => Promise.resolve(openSqliteMetadata(join(dir, "registry.db"))));
    await blobStoreConformance(t, "files", () => createFsBlobStore(join(dir, "blobs")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQLite search index: a database written before rowid keys is rebuilt once, without duplicates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "registry.db");
    const store = openSqliteMetadata(path);
    const v = (id: string) => ({
      id,
      version: "1.0.0",
      name: id,
      description: "old",
      tags: [],
      keywords: [],
      sha256: "a".repeat(64),
      size: 1,
      dependencies: {},
      yanked: false,
      published_at: "2026-01-01T00:00:00Z",
    });
    await store.insertVersion(v("io.old.one"), { keyid: "SHA256:k", publicKey: "AAAA", seq: 1 });
    await store.close();
    // As an older ggen left it: user_version 0 and a search row that is not at the package's rowid
    const raw = new DatabaseSync(path);
    raw.exec("DELETE FROM search; PRAGMA user_version = 0;");
    raw.prepare("INSERT INTO search (rowid, id, name, description, tags, keywords) VALUES (99, ?, ?, 'old', '', '')")
      .run("io.old.one", "io.old.one");
    raw.close();
    const reopened = openSqliteMetadata(path);
    await reopened.setYanked("io.old.one", "1.0.0", false);
    assert.deepEqual((await reopened.search("io.old.one", 10, 0)).hits.map((h) => h.id), ["io.old.one"]);
    await reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
