/**
 * `ggen init` (issue 15, item 1): a new package packs as it is; nothing is overwritten; a bad id
 * is a usage error; a misspelt manifest field names the one it probably means.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, jsonLines, tempDir } from "./helpers.ts";

Deno.test("init: a new package packs at once; re-running refuses; misspelt fields get a suggestion", async () => {
  await using work = await tempDir();
  const home = join(work.path, "home");
  await Deno.mkdir(home);
  const run = (args: string[]) => ggen(args, { home, cwd: work.path });

  const created = await run(["init", "My Templates", "--json"]);
  assert.equal(created.code, 0, created.stderr);
  const out = JSON.parse(created.stdout) as { id: string; files: string[] };
  assert.equal(out.id, "io.ggen.my-templates");
  assert.deepEqual(out.files.sort(), ["README.md", "ggen.toml", join("templates", "hello.tmpl")].sort());
  const listed = await run(["pack", "My Templates", "--list", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(jsonLines<{ path: string }>(listed.stdout).some((f) => f.path === "templates/hello.tmpl"));

  const again = await run(["init", "My Templates"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Refusing to overwrite .*ggen\.toml/);
  const badId = await run(["init", "other", "--id", "Not An Id"]);
  assert.equal(badId.code, 2);
  assert.match(badId.stderr, /not a reverse-DNS package id: pass one with --id/);

  const manifest = join(work.path, "My Templates", "ggen.toml");
  await Deno.writeTextFile(manifest, (await Deno.readTextFile(manifest)).replace('license = "MIT"', 'licence = "MIT"'));
  const misspelt = await run(["pack", "My Templates", "--list"]);
  assert.equal(misspelt.code, 1);
  assert.match(misspelt.stderr, /"package\.licence": is not a known field \(did you mean "license"\?\)/);
});
