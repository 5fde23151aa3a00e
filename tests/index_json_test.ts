/**
 * `GET /index.json` serves the registry in the format of ggen's own marketplace index, and its
 * download URLs give the bytes the sha256 names; a client installs from it as a static source.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../src/core/mod.ts";
import { startCentral } from "./central_helpers.ts";
import { ggen, tempDir } from "./helpers.ts";
import { join } from "node:path";

Deno.test("index.json: ggen's index format, with working download URLs", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    await central.publish("io.index.a", "1.0.0");
    await central.publish("io.index.a", "1.1.0");
    await central.publish("io.index.b", "2.0.0");
    const res = await fetch(`${central.server.url}/index.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("cache-control") ?? "", /max-age=60/);
    const index = await res.json();
    assert.equal(index.version, "1");
    assert.equal(index.package_count, 2);
    assert.deepEqual(index.categories, []);
    assert.ok(!Number.isNaN(Date.parse(index.updated_at)));
    const a = index.packages.find((p: { id: string }) => p.id === "io.index.a");
    assert.deepEqual(
      Object.keys(a).sort(),
      [
        "dependencies",
        "description",
        "download_url",
        "id",
        "keywords",
        "name",
        "path",
        "releases",
        "sha256",
        "size",
        "tags",
        "version",
        "versions",
      ],
    );
    assert.equal(a.version, "1.1.0");
    assert.deepEqual(a.versions, ["1.0.0", "1.1.0"]);
    const bytes = new Uint8Array(await (await fetch(a.download_url)).arrayBuffer());
    assert.equal(sha256Hex(bytes), a.sha256);
    assert.equal(bytes.byteLength, a.size);
    assert.deepEqual(a.releases.map((r: { version: string }) => r.version), ["1.0.0", "1.1.0"]);
    assert.ok(a.releases.every((r: { signature?: unknown; publisher_key?: string }) => r.signature && r.publisher_key));

    // The registry's own index.json is a read-only central source too (relative download URLs)
    const client = join(work.path, "client");
    await Deno.mkdir(client);
    const env = { GGEN_REGISTRY: `${central.server.url}/index.json`, GGEN_MODE: "central" };
    const install = await ggen(["install", "io.index.a@1.0.0"], { home: client, env });
    assert.equal(install.code, 0, install.stderr);
    await Deno.stat(join(client, ".ggen", "packages", "io.index.a", "1.0.0"));
  } finally {
    await central.stop();
  }
});
