/**
 * Running the registry as an operator does: `ggen registry serve --config registry.toml` (limits and
 * the tarball cap from the file, flags overriding it), `ggen registry config check` naming a bad
 * key, `/health`, `/ready` (503 when the blob store cannot be written) and `/metrics` in the
 * Prometheus text format counting what happened.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, tempDir, writePackage } from "./helpers.ts";
import { serveRegistry } from "./central_helpers.ts";
import { startPgCluster } from "./pg_cluster.ts";
import { startSwiftS3 } from "./swift_s3.ts";
import { generateKey } from "../src/trust/mod.ts";

const CONFIG = `
[server]
host = "127.0.0.1"
port = 1        # overridden by --port 0
max_tarball_bytes = 20971520
[limits]
new_package = { burst = 50, per_seconds = 60 }
search = { burst = 2, per_seconds = 600 }
download = false
[storage]
database = "sqlite"
blobs = "file"
`;

Deno.test("registry operations: config file, config check, health, readiness and metrics", async (t) => {
  await using work = await tempDir();
  const data = join(work.path, "reg");
  const home = join(work.path, "home");
  await Deno.mkdir(data, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  const configFile = join(work.path, "registry.toml");
  await Deno.writeTextFile(configFile, CONFIG);

  await t.step("config check validates a file and names a bad key with a suggestion", async () => {
    const ok = await ggen(["--json", "registry", "config", "check", configFile], { home });
    assert.equal(ok.code, 0, ok.stderr);
    const shown = JSON.parse(ok.stdout.trim().split("\n").at(-1)!);
    assert.equal(shown.max_tarball_bytes, 20971520);
    assert.equal(shown.limits.download, "off");
    assert.match(shown.limits.new_package, /burst 50, refilled at 50 per 60 s/);

    const typo = join(work.path, "typo.toml");
    await Deno.writeTextFile(typo, "[server]\nmax_tarbal_bytes = 5\n");
    const bad = await ggen(["registry", "config", "check", typo], { home });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /server\.max_tarbal_bytes is not a known key \(did you mean "max_tarball_bytes"\?\)/);
    assert.equal(bad.code, 2, "a bad configuration is the user's to fix: exit 2");
    // With --json the error is one JSON object on stderr
    const asJson = await ggen(["--json", "registry", "config", "check", typo], { home });
    assert.equal(asJson.code, 2);
    const { error } = JSON.parse(asJson.stderr.trim().split("\n").at(-1)!) as {
      error: { name: string; message: string; exit_code: number };
    };
    assert.equal(error.name, "ConfigError");
    assert.equal(error.exit_code, 2);
    assert.match(error.message, /max_tarbal_bytes/);

    const pg = join(work.path, "pg.toml");
    await Deno.writeTextFile(pg, '[storage]\ndatabase = "postgres://ggen@db.internal/ggen"\n');
    assert.equal((await ggen(["registry", "config", "check", pg], { home })).code, 0);
    // A password in a file that gets committed or shared: refused, PGPASSWORD is the place
    await Deno.writeTextFile(pg, '[storage]\ndatabase = "postgres://ggen:secret@db.internal/ggen"\n');
    const refused = await ggen(["registry", "config", "check", pg], { home });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /storage\.database must not hold a password: set PGPASSWORD/);

    const wrongType = join(work.path, "type.toml");
    await Deno.writeTextFile(wrongType, "[limits]\nsearch = { burst = -1, per_seconds = 1 }\n");
    const neg = await ggen(["registry", "config", "check", wrongType], { home });
    assert.notEqual(neg.code, 0);
    assert.match(neg.stderr, /limits\.search\.burst must be an integer/);
  });

  const server = await serveRegistry(["--config", configFile, "--data", data, "--port", "0"], home);
  try {
    await t.step("the file's limits and tarball cap apply; --port overrides its port", async () => {
      assert.notEqual(new URL(server.url).port, "1");
      const tokenRun = await ggen(["--json", "registry", "token", "create", "--data", data, "--config", configFile], {
        home,
      });
      assert.equal(tokenRun.code, 0, tokenRun.stderr);
      const { token } = JSON.parse(tokenRun.stdout.trim().split("\n")[0]!) as { token: string };
      const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
      // Eight new ids with one token: the default limit (5 new ids) would refuse the sixth
      for (let i = 0; i < 8; i++) {
        const pkg = await writePackage(join(work.path, `p${i}`), { id: `io.ops.pkg${i}`, version: "1.0.0" });
        const r = await ggen(["publish", pkg], { home, env });
        assert.equal(r.code, 0, r.stderr);
      }
      // 12 MiB of incompressible bytes: over the default 10 MiB cap, under the file's 20 MiB
      const big = await writePackage(join(work.path, "big"), { id: "io.ops.big", version: "1.0.0" });
      const blob = new Uint8Array(12 * 1024 * 1024);
      for (let o = 0; o < blob.length; o += 65536) crypto.getRandomValues(blob.subarray(o, o + 65536));
      await Deno.writeFile(join(big, "templates", "blob.bin"), blob);
      const r = await ggen(["publish", big], { home, env });
      assert.equal(r.code, 0, r.stderr);
      // Search: a burst of 2, then refused
      for (let i = 0; i < 2; i++) assert.equal(await fetch(`${server.url}/api/v1/search?q=ops`).then(drain), 200);
      assert.equal(await fetch(`${server.url}/api/v1/search?q=ops`).then(drain), 429);
    });

    await t.step("health, readiness and metrics", async () => {
      assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { ok: true });
      const ready = await fetch(`${server.url}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true, checks: { database: "ok", blobs: "ok" } });

      const res = await fetch(`${server.url}/metrics`);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const value = (line: RegExp) => Number(text.split("\n").find((l) => line.test(l))?.split(" ").at(-1));
      assert.equal(value(/^ggen_registry_publishes_total /), 9);
      assert.equal(value(/^ggen_registry_rate_limited_total\{limit="search"\} /), 1);
      assert.equal(
        value(/^ggen_registry_http_requests_total\{route="\/packages\/:id\/:version",method="PUT",status="201"\} /),
        9,
      );
      assert.equal(value(/^ggen_registry_http_request_duration_seconds_count\{route="\/search"\} /), 3);
      // No raw path ever becomes a label
      assert.ok(!text.includes("io.ops.pkg"), "a package id leaked into a label");
    });

    await t.step("readiness fails when the blob store cannot be written", async () => {
      const blobs = join(data, "blobs");
      await Deno.rename(blobs, `${blobs}.moved`);
      await Deno.writeTextFile(blobs, "not a directory");
      try {
        const res = await fetch(`${server.url}/ready`);
        assert.equal(res.status, 503);
        const body = await res.json() as { ready: boolean; checks: { blobs: string; database: string } };
        assert.equal(body.ready, false);
        assert.equal(body.checks.database, "ok");
        assert.notEqual(body.checks.blobs, "ok");
        assert.equal(await fetch(`${server.url}/health`).then(drain), 200, "liveness does not depend on storage");
      } finally {
        await Deno.remove(blobs);
        await Deno.rename(`${blobs}.moved`, blobs);
      }
      assert.equal(await fetch(`${server.url}/ready`).then(drain), 200);
    });
  } finally {
    await server.stop();
  }
});

async function drain(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

/**
 * Two `registry serve` processes. With only a database given they share one data directory; with
 * S3 blobs too each has its own, holding only a copy of the registry key, so nothing is shared
 * but the database and the bucket
 */
async function twoInstances(storage: { database?: string; blobs?: string; env?: Record<string, string> } = {}) {
  await using work = await tempDir();
  const data = join(work.path, "reg");
  const home = join(work.path, "home");
  await Deno.mkdir(data, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  const env = storage.env ?? {};
  const config = join(work.path, "registry.toml");
  await Deno.writeTextFile(
    config,
    `[storage]\ndatabase = "${storage.database ?? "sqlite"}"\nblobs = "${storage.blobs ?? "file"}"\n`,
  );
  const argsFor = (dir: string) => ["--data", dir, "--config", config];
  // The first instance creates the data directory and the registry key; the second shares the key
  const a = await serveRegistry([...argsFor(data), "--port", "0"], home, env);
  let dataB = data;
  if (storage.blobs) {
    dataB = join(work.path, "reg-b");
    await Deno.mkdir(dataB);
    for (const f of ["registry.key", "registry.pub"]) await Deno.copyFile(join(data, f), join(dataB, f));
  }
  const b = await serveRegistry([...argsFor(dataB), "--port", "0"], home, env);
  const args = argsFor(data);
  try {
    const key = async (url: string) => await (await fetch(`${url}/api/v1/registry/key`)).json();
    assert.deepEqual(await key(a.url), await key(b.url), "the instances sign with different keys");

    const tokenRun = await ggen([
      "--json",
      "registry",
      "token",
      "create",
      ...args,
    ], { home, env });
    assert.equal(tokenRun.code, 0, tokenRun.stderr);
    const { token } = JSON.parse(tokenRun.stdout.trim().split("\n")[0]!) as { token: string };
    // The publisher's key exists before the two publishes race (two first-time key creations in
    // one home at the same moment is a separate defect, noted on the CLI issue)
    await generateKey(home);
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.twin.pkg", version: "1.0.0" });
    // The same version published at the same moment through each instance: exactly one wins
    const runs = await Promise.all(
      [a, b].map((s) => ggen(["publish", pkg], { home, env: { GGEN_REGISTRY: s.url, GGEN_TOKEN: token } })),
    );
    assert.deepEqual(runs.map((r) => r.code).sort(), [0, 1], runs.map((r) => r.stderr).join("\n"));
    assert.match(runs.find((r) => r.code !== 0)!.stderr, /already exists/);
    // What one instance took, the other serves
    for (const s of [a, b]) {
      const info = await (await fetch(`${s.url}/api/v1/packages/io.twin.pkg`)).json() as {
        versions: { version: string }[];
      };
      assert.equal(info.versions.length, 1);
      // and its bytes, from wherever the blobs live
      const tarball = await fetch(`${s.url}/api/v1/packages/io.twin.pkg/1.0.0/tarball`);
      assert.equal(tarball.status, 200);
      assert.ok((await tarball.arrayBuffer()).byteLength > 0);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

Deno.test("two registry instances share one data directory: either answers, one concurrent publish wins", async () => {
  await twoInstances();
});

Deno.test({
  name: "two registry instances share one PostgreSQL database: either answers, one concurrent publish wins",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await startPgCluster();
    if (!cluster) return;
    try {
      await twoInstances({ database: cluster.url });
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "two registry instances on PostgreSQL and S3 share nothing else: either answers, one publish wins",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await startPgCluster();
    if (!cluster) return;
    const swift = await startSwiftS3();
    try {
      if (!swift) return;
      await twoInstances({
        database: cluster.url,
        blobs: `s3://ggen-twins?endpoint=${swift.endpoint}`,
        env: { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey },
      });
    } finally {
      await swift?.stop();
      await cluster.stop();
    }
  },
});
