/**
 * scripts/commander_host.js, the stand-in for the node:process, node:fs and node:child_process
 * commander imports (the single file uses it; tests/bundle_test.ts runs the whole CLI with it):
 * what commander reads of it behaves as Node's would, and what ggen never uses refuses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { commanderHost } from "../scripts/commander_host.js";
import { tempDir } from "./helpers.ts";

Deno.test("commander host: the environment reads as Node's process.env, unset as undefined", () => {
  const { process } = commanderHost();
  Deno.env.set("GGEN_COMMANDER_HOST_TEST", "1");
  try {
    assert.equal(process.env.GGEN_COMMANDER_HOST_TEST, "1");
    assert.ok("GGEN_COMMANDER_HOST_TEST" in process.env);
  } finally {
    Deno.env.delete("GGEN_COMMANDER_HOST_TEST");
  }
  assert.equal(process.env.GGEN_COMMANDER_HOST_TEST, undefined);
  assert.ok(!("GGEN_COMMANDER_HOST_TEST" in process.env));
  assert.equal(process.platform, Deno.build.os === "windows" ? "win32" : Deno.build.os);
  assert.deepEqual(process.argv.slice(2), Deno.args);
});

Deno.test("commander host: a variable the process may not read is unset, without a prompt", async () => {
  const code = `import { commanderHost } from ${JSON.stringify(import.meta.resolve("../scripts/commander_host.js"))};
const { process } = commanderHost();
console.log(JSON.stringify([process.env.HOME ?? null, "HOME" in process.env, process.env.GGEN_ALLOWED ?? null]));`;
  await using work = await tempDir();
  const script = join(work.path, "read_env.js");
  await Deno.writeTextFile(script, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-env=GGEN_ALLOWED", script],
    env: { GGEN_ALLOWED: "yes", HOME: "/somewhere" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [null, false, "yes"]);
});

Deno.test("commander host: executable subcommands, which ggen does not define, refuse", () => {
  const { fs, childProcess } = commanderHost();
  assert.throws(() => fs.existsSync(), /no executable subcommands/);
  assert.throws(() => fs.realpathSync(), /no executable subcommands/);
  assert.throws(() => childProcess.spawn(), /no executable subcommands/);
});
