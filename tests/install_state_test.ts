/**
 * What `list` and `install` report matches the project's files: a deleted `.ggen` shows as not
 * installed and is restored; a tampered package is repaired, not declared installed; an install
 * prints only what changed; the lock does not change with where the bytes came from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freshMachine, startCentral } from "./central_helpers.ts";
import { ggen, jsonLines, tempDir } from "./helpers.ts";

Deno.test("install state: list tells a missing install, install repairs tampering and reprints only changes", async (t) => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    await central.publish("io.state.a");
    await central.publish("io.state.b");
    const { home, project } = await freshMachine(work.path, "m");
    const run = (args: string[]) => ggen(args, { home, cwd: project, env: central.env });
    assert.equal((await run(["install", "io.state.a", "io.state.b"])).code, 0);
    const lockAfterCentral = await Deno.readTextFile(join(project, "ggen.lock"));
    assert.doesNotMatch(lockAfterCentral, /source/, "where the bytes came from is not part of the lock");
    const file = join(project, ".ggen", "packages", "io.state.a", "1.0.0", "templates", "file.tmpl");

    await t.step("a second install prints nothing for packages already in place", async () => {
      const r = await run(["install"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "");
      assert.match(r.stderr, /2 packages already installed and intact/);
      const json = jsonLines<{ id: string; action: string }>((await run(["install", "--json"])).stdout);
      assert.deepEqual(json.map((p) => p.action), ["unchanged", "unchanged"]);
    });

    await t.step("a tampered package is repaired, and said to be", async () => {
      await Deno.writeTextFile(file, "tampered\n");
      await Deno.writeTextFile(join(file, "..", "planted.sh"), "echo hi\n");
      const r = await run(["install"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Repaired io\.state\.a@1\.0\.0/m);
      assert.doesNotMatch(r.stdout, /io\.state\.b/);
      assert.match(r.stderr, /Repairing io\.state\.a@1\.0\.0: 2 files differed \(modified templates\/file\.tmpl/);
      assert.equal(await Deno.readTextFile(file), "io.state.a@1.0.0\n");
      assert.equal((await run(["verify"])).code, 0);
    });

    await t.step("after rm -rf .ggen, list says not installed and install restores it", async () => {
      await Deno.remove(join(project, ".ggen"), { recursive: true });
      const listed = await run(["list"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /io\.state\.a@1\.0\.0 .*NOT INSTALLED/);
      const json = jsonLines<{ id: string; installed: boolean }>((await run(["list", "--json"])).stdout);
      assert.deepEqual(json.map((p) => p.installed), [false, false]);
      const r = await run(["install"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Installed io\.state\.a@1\.0\.0 \(cache\)/m);
      assert.deepEqual(
        jsonLines<{ installed: boolean }>((await run(["list", "--json"])).stdout).map((p) => p.installed),
        [true, true],
      );
    });

    await t.step("the lock is the same whether the bytes came from central or the cache", async () => {
      assert.equal(await Deno.readTextFile(join(project, "ggen.lock")), lockAfterCentral);
    });
  } finally {
    await central.stop();
  }
});
