/**
 * `ggen registry migrate`: an embedded registry (SQLite + files) with packages, several versions,
 * a yank and tokens moves into PostgreSQL + S3 (a throwaway cluster and a throwaway Swift); the
 * command compares both sides; a second run changes nothing; a server on the new storage serves
 * the same signed documents under the same registry key and accepts the old token.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveRegistry, startCentral } from "./central_helpers.ts";
import { ggen, tempDir, writePackage } from "./helpers.ts";
import { startPgCluster } from "./pg_cluster.ts";
import { startSwiftS3 } from "./swift_s3.ts";

Deno.test({
  name: "registry migrate: SQLite + files into PostgreSQL + S3, compared, re-runnable, served as before",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using work = await tempDir();
    const cluster = await startPgCluster();
    if (!cluster) return;
    const swift = await startSwiftS3();
    try {
      if (!swift) return;
      const central = await startCentral(work.path);
      const publisher = join(work.path, "publisher");
      await central.publish("io.move.one");
      await central.publish("io.move.one", "1.1.0");
      await central.publish("io.move.two");
      const yank = await ggen(["yank", "io.move.one@1.0.0"], { home: publisher, env: central.env });
      assert.equal(yank.code, 0, yank.stderr);
      const before = await (await fetch(`${central.server.url}/api/v1/packages/io.move.one`)).json();
      const oldKey = await (await fetch(`${central.server.url}/api/v1/registry/key`)).json();
      await central.stop();

      const config = join(work.path, "registry.toml");
      await Deno.writeTextFile(
        config,
        `[storage]\ndatabase = "${cluster.url}"\nblobs = "s3://ggen-moved?endpoint=${swift.endpoint}"\n`,
      );
      const env = { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey };
      const home = join(work.path, "home");
      await Deno.mkdir(home);
      const migrate = () =>
        ggen([
          "--json",
          "registry",
          "migrate",
          "--from",
          join(work.path, "reg"),
          "--to",
          config,
          "--data",
          join(
            work.path,
            "new",
          ),
        ], { home, env });
      const first = await migrate();
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual(report.packages, { imported: 2, unchanged: 0 });
      assert.equal(report.versions, 3);
      assert.equal(report.blobs.copied, 3);
      assert.equal(report.tokens.imported, 1);
      assert.deepEqual(report.mismatches, []);

      const again = JSON.parse((await migrate()).stdout.trim().split("\n").at(-1)!);
      assert.deepEqual(again.packages, { imported: 0, unchanged: 2 });
      assert.equal(again.blobs.copied, 0);
      assert.deepEqual(again.mismatches, []);

      // A server on the new storage: the same documents, the same key, the old token
      const server = await serveRegistry(
        ["--config", config, "--data", join(work.path, "new"), "--port", "0"],
        home,
        env,
      );
      try {
        const url = server.url;
        assert.deepEqual(await (await fetch(`${url}/api/v1/registry/key`)).json(), oldKey);
        const after = await (await fetch(`${url}/api/v1/packages/io.move.one`)).json();
        assert.deepEqual(after.versions, before.versions);
        assert.ok(after.metadata_signature, "the document is signed");
        const project = join(work.path, "project");
        await Deno.mkdir(project);
        const installed = await ggen(["install", "io.move.one"], { home, cwd: project, env: { GGEN_REGISTRY: url } });
        assert.equal(installed.code, 0, installed.stderr);
        const pkg = await writePackage(join(work.path, "next"), { id: "io.move.two", version: "2.0.0" });
        const published = await ggen(["publish", pkg], {
          home: publisher,
          env: { GGEN_REGISTRY: url, GGEN_TOKEN: central.env.GGEN_TOKEN },
        });
        assert.equal(published.code, 0, published.stderr);
      } finally {
        await server.stop();
      }
    } finally {
      await swift?.stop();
      await cluster.stop();
    }
  },
});
