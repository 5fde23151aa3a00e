import { join } from "node:path";
import { createFsBlobStore } from "./blobs.ts";
import { openSqliteMetadata } from "./db.ts";
import { openPostgresMetadata } from "./pg.ts";
import { startPgCluster } from "../../../tests/pg_cluster.ts";
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

Deno.test({
  name: "storage conformance: PostgreSQL metadata (a throwaway cluster)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const cluster = await startPgCluster();
    if (!cluster) return;
    try {
      await metadataStoreConformance(t, "postgresql", () => openPostgresMetadata(cluster.url));
    } finally {
      await cluster.stop();
    }
  },
});
