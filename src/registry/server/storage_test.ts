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
