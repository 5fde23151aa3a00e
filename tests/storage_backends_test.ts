/**
 * The storage conformance suite against the networked backends, on real servers the test starts:
 * PostgreSQL metadata (a throwaway cluster) and S3 blobs (a throwaway OpenStack Swift with
 * s3api). Each skips, printing the install command, when its server is not installed.
 */
import { blobStoreConformance, metadataStoreConformance } from "../src/registry/server/_storage_conformance.ts";
import { openPostgresMetadata } from "../src/registry/server/pg.ts";
import { createS3BlobStore, parseS3Url } from "../src/registry/server/s3_blobs.ts";
import { startPgCluster } from "./pg_cluster.ts";
import { startSwiftS3 } from "./swift_s3.ts";

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

Deno.test({
  name: "storage conformance: S3 blobs (a throwaway OpenStack Swift with s3api)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const swift = await startSwiftS3();
    if (!swift) return;
    const saved = { id: Deno.env.get("AWS_ACCESS_KEY_ID"), secret: Deno.env.get("AWS_SECRET_ACCESS_KEY") };
    Deno.env.set("AWS_ACCESS_KEY_ID", swift.accessKeyId);
    Deno.env.set("AWS_SECRET_ACCESS_KEY", swift.secretAccessKey);
    try {
      await blobStoreConformance(
        t,
        "s3",
        () => createS3BlobStore(parseS3Url(`s3://ggen-blobs/test?endpoint=${swift.endpoint}`, "storage.blobs")),
      );
    } finally {
      for (const [k, v] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.secret]] as const) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
      await swift.stop();
    }
  },
});
