/** `ggen cache verify|clean|dir` on a home filled by a real install from a real registry */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freshMachine, startCentral } from "./central_helpers.ts";
import { ggen, tempDir } from "./helpers.ts";

Deno.test("cache commands: verify evicts a tampered blob, clean empties the caches", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    await central.publish("io.cache.one");
    await central.publish("io.cache.two");
    const { home, project } = await freshMachine(work.path, "m");
    const run = (args: string[]) => ggen(args, { home, cwd: project, env: central.env });
    assert.equal((await run(["install", "io.cache.one", "io.cache.two"])).code, 0);

    const dir = (await run(["cache", "dir"])).stdout.trim();
    assert.equal(dir, join(home, "cache", "sha256"));
    const blobs = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
    assert.equal(blobs.length, 2);
    await Deno.writeTextFile(join(dir, blobs[0]!), "tampered");

    const verify = await run(["--json", "cache", "verify"]);
    assert.equal(verify.code, 0, verify.stderr);
    const report = JSON.parse(verify.stdout.trim()) as { verified: number; evicted: string[] };
    assert.equal(report.verified, 1);
    assert.deepEqual(report.evicted, [blobs[0]]);

    const clean = await run(["--json", "cache", "clean"]);
    assert.equal(clean.code, 0, clean.stderr);
    const cleaned = JSON.parse(clean.stdout.trim()) as { removed_files: number };
    assert.ok(cleaned.removed_files >= 1, "nothing removed");
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.isFile), []);
    // `verify` compares with the store, which is gone; restoring from the lock fetches it again
    assert.notEqual((await run(["verify"])).code, 0);
    assert.equal((await run(["install"])).code, 0);
    const verified = await run(["verify"]);
    assert.equal(verified.code, 0, verified.stderr);
  } finally {
    await central.stop();
  }
});
