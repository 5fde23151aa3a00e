/**
 * The central path end to end: a real registry server on a loopback port, the real CLI as a
 * subprocess, SQLite on disk.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { apiPaths, SHA256_HEADER } from "../src/core/api.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";

Deno.test("central registry: publish, search, install, update, yank and every error path", async (t) => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  try {
    const { token } = await createToken(server.metadata, { name: "test" });
    const home = join(work.path, "home");
    const project = join(work.path, "project");
    await Deno.mkdir(home);
    await Deno.mkdir(project);
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, GGEN_MODE: "central" };
    const run = (args: string[], cwd = project) => ggen(args, { home, cwd, env });
    const pkg = (name: string) => join(work.path, "pkgs", name);
    await writePackage(pkg("lib1"), { id: "io.test.lib", version: "1.0.0", tags: ["lib"] });
    await writePackage(pkg("lib11"), { id: "io.test.lib", version: "1.1.0", tags: ["lib"] });
    await writePackage(pkg("app"), {
      id: "io.test.app",
      version: "1.0.0",
      description: "Application generator",
      deps: { "io.test.lib": "^1.0.0" },
    });

    await t.step("publish", async () => {
      // A dry run lists what would go, leaves the secret out, and uploads nothing
      await Deno.writeTextFile(join(pkg("lib1"), ".env"), "TOKEN=secret");
      const dry = await run(["publish", pkg("lib1"), "--dry-run", "--json"]);
      assert.equal(dry.code, 0, dry.stderr);
      const listed = jsonLines<{ path: string }>(dry.stdout).map((f) => f.path);
      assert.ok(listed.includes("ggen.toml") && !listed.includes(".env"), listed.join(", "));
      assert.equal(await server.metadata.getPackage("io.test.lib"), undefined, "a dry run uploads nothing");
      for (const dir of [pkg("lib1"), pkg("app")]) {
        const r = await run(["publish", dir, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(jsonLines(r.stdout).length, 1);
      }
      const dup = await run(["publish", pkg("lib1")]);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /already exists/);
    });

    await t.step("search ranks the exact id first and prints JSON", async () => {
      const r = await run(["search", "io.test.app", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const hits = jsonLines<{ id: string; source: string }>(r.stdout);
      assert.equal(hits[0]?.id, "io.test.app");
      assert.equal(hits[0]?.source, "central");
      const none = await run(["search", "nothingmatches", "--json"]);
      assert.equal(none.code, 0);
      assert.equal(jsonLines(none.stdout).length, 0);
    });

    await t.step("install resolves dependencies, writes the lockfile and the packages", async () => {
      const r = await run(["install", "io.test.app@^1", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const installed = jsonLines<{ id: string; version: string }>(r.stdout).map((p) => `${p.id}@${p.version}`).sort();
      assert.deepEqual(installed, ["io.test.app@1.0.0", "io.test.lib@1.0.0"]);
      const lock = await Deno.readTextFile(join(project, "ggen.lock"));
      assert.match(lock, /io\.test\.lib/);
      const file = await Deno.readTextFile(join(project, ".ggen/packages/io.test.lib/1.0.0/templates/file.tmpl"));
      assert.match(file, /io\.test\.lib@1\.0\.0/);
      await Deno.stat(join(project, ".ggen/packages/io.test.lib/1.0.0/.ggen-complete"));
      const list = await run(["list", "--json"]);
      assert.equal(jsonLines(list.stdout).length, 2);
      // A bare id is saved as ^x.y.z of what got installed, not "*"
      await Deno.mkdir(join(work.path, "bare"));
      const bare = await run(["install", "io.test.lib"], join(work.path, "bare"));
      assert.equal(bare.code, 0, bare.stderr);
      assert.match(await Deno.readTextFile(join(work.path, "bare", "ggen.lock")), /"io\.test\.lib" = "\^1\.0\.0"/);
      const version = await run(["--version"]);
      assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    });

    await t.step("update moves within the range and rewrites the lockfile", async () => {
      assert.equal((await run(["publish", pkg("lib11")])).code, 0);
      const r = await run(["update", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const lib = jsonLines<{ id: string; version: string; previous: string }>(r.stdout).find((p) =>
        p.id === "io.test.lib"
      );
      assert.equal(lib?.version, "1.1.0");
      assert.equal(lib?.previous, "1.0.0");
      await assert.rejects(Deno.stat(join(project, ".ggen/packages/io.test.lib/1.0.0")), Deno.errors.NotFound);
      await Deno.stat(join(project, ".ggen/packages/io.test.lib/1.1.0/.ggen-complete"));
    });

    await t.step("yank hides a version from new resolution", async () => {
      assert.equal((await run(["yank", "io.test.lib@1.1.0"])).code, 0);
      const info = await run(["info", "io.test.lib", "--json"]);
      const versions = jsonLines<{ versions: { version: string; yanked: boolean }[] }>(info.stdout)[0]!.versions;
      assert.equal(versions.find((v) => v.version === "1.1.0")?.yanked, true);
      const other = join(work.path, "other");
      await Deno.mkdir(other);
      const r = await run(["install", "io.test.lib@1.1.0"], other);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no non-yanked version matches/);
      // The project locked 1.1.0 (the update step): update now goes down, and says so
      const down = await run(["update", "io.test.lib"]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /Downgraded \(the locked version was yanked\) io\.test\.lib 1\.1\.0 -> 1\.0\.0/);
      assert.equal((await run(["yank", "--undo", "io.test.lib@1.1.0"])).code, 0);
    });

    await t.step("a corrupt cache entry is evicted and refetched", async () => {
      const cacheDir = join(home, "cache", "sha256");
      for (const e of Deno.readDirSync(cacheDir)) await Deno.writeTextFile(join(cacheDir, e.name), "garbage");
      const fresh = join(work.path, "fresh");
      await Deno.mkdir(fresh);
      const r = await run(["install", "io.test.app", "--json"], fresh);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Evicting corrupt cache entry/);
    });

    await t.step("errors: unknown package, unsatisfiable range, conflicts, unreachable registry, usage", async () => {
      const unknown = await run(["install", "io.test.nope"]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /error: Package "io.test.nope" not found/);
      const conflict = await run(["install", "io.test.lib@^9"]);
      assert.equal(conflict.code, 1);
      assert.match(
        conflict.stderr,
        /the ranges conflict: the command line requires "\^9"; io\.test\.app@1\.0\.0 requires/,
      );
      const range = await run(["install", "io.test.lib@^9"], join(work.path, "other"));
      assert.equal(range.code, 1);
      assert.match(range.stderr, /no non-yanked version matches "?.*available: 1\.0\.0, 1\.1\.0/);
      // Without arguments, install restores ggen.lock; with no lock there is nothing to do: usage error
      await Deno.mkdir(join(work.path, "empty"));
      const usage = await run(["install"], join(work.path, "empty"));
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /Nothing to install/);
      const restore = await run(["install"]);
      assert.equal(restore.code, 0, restore.stderr);
      const down = await ggen(["search", "x"], {
        home,
        cwd: project,
        env: { ...env, GGEN_REGISTRY: "http://127.0.0.1:9" },
      });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /Cannot reach central registry http:\/\/127\.0\.0\.1:9/);
      const before = await Deno.readTextFile(join(project, "ggen.lock"));
      const failed = await run(["install", "io.test.nope"]);
      assert.equal(failed.code, 1);
      assert.equal(await Deno.readTextFile(join(project, "ggen.lock")), before);
    });

    await t.step("HTTP API: checksum, manifest, size, token, range and ETag", async () => {
      const packed = await packDirectory(pkg("lib1"));
      const put = (path: string, body: Uint8Array, headers: Record<string, string>) =>
        fetch(server.url + path, { method: "PUT", body: body as Uint8Array<ArrayBuffer>, headers });
      const auth = { authorization: `Bearer ${token}` };
      let res = await put(apiPaths.version("io.test.lib", "9.9.9"), packed.bytes, {
        ...auth,
        [SHA256_HEADER]: "0".repeat(64),
      });
      assert.equal(res.status, 422);
      assert.match((await res.json()).message, /Checksum mismatch/);
      res = await put(apiPaths.version("io.test.lib", "9.9.9"), packed.bytes, {
        ...auth,
        [SHA256_HEADER]: packed.sha256,
      });
      assert.equal(res.status, 400);
      assert.match((await res.json()).message, /Manifest says "io.test.lib@1.0.0"/);
      res = await put(apiPaths.version("io.test.big", "1.0.0"), new Uint8Array(11 * 1024 * 1024), {
        ...auth,
        [SHA256_HEADER]: packed.sha256,
      });
      assert.equal(res.status, 413);
      await res.body?.cancel();
      res = await put(apiPaths.version("io.test.lib", "2.0.0"), packed.bytes, { [SHA256_HEADER]: packed.sha256 });
      assert.equal(res.status, 401);
      await res.body?.cancel();
      res = await put(apiPaths.version("io.test.lib", "2.0.0"), packed.bytes, {
        authorization: "Bearer ggen_forged",
        [SHA256_HEADER]: packed.sha256,
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
      res = await put(apiPaths.version("io.test.lib", "2.0.0"), new TextEncoder().encode("not gzip"), {
        ...auth,
        [SHA256_HEADER]: "c0f4f62ba1d9d4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4".slice(0, 64),
      });
      assert.equal(res.status, 422);
      await res.body?.cancel();
      assert.equal((await fetch(server.url + apiPaths.package("io.test.big"))).status, 404);
      const full = await fetch(server.url + apiPaths.tarball("io.test.lib", "1.0.0"));
      assert.equal(full.headers.get("etag"), `"${packed.sha256}"`);
      assert.equal(Number(full.headers.get("content-length")), packed.size);
      const body = new Uint8Array(await full.arrayBuffer());
      const part = await fetch(server.url + apiPaths.tarball("io.test.lib", "1.0.0"), {
        headers: { range: "bytes=10-" },
      });
      assert.equal(part.status, 206);
      assert.deepEqual(new Uint8Array(await part.arrayBuffer()), body.subarray(10));
      const notModified = await fetch(server.url + apiPaths.tarball("io.test.lib", "1.0.0"), {
        headers: { "if-none-match": `"${packed.sha256}"` },
      });
      assert.equal(notModified.status, 304);
      await notModified.body?.cancel();
      const missing = await fetch(server.url + apiPaths.package("io.test.missing"));
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).code, "NotFoundError");
      // nothing half-written: every blob has a row and every row a blob
      const blobs = (await server.blobs.list()).sort();
      assert.deepEqual(blobs, (await server.metadata.listBlobDigests()).sort());
    });
  } finally {
    await server.stop();
  }
});
