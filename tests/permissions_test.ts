/**
 * Each command runs with the permission scopes the README gives it and no more (issue 15):
 * `--version` and `--help` with none at all; `config` with the environment and a read of
 * `$GGEN_HOME`; search, info and install against central with the network narrowed to the
 * registry's address and reads and writes narrowed to `$GGEN_HOME` and the project. None of
 * them asks for `--allow-sys`, `--allow-run` or anything outside those paths.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCentral } from "./central_helpers.ts";
import { MAIN, ROOT, tempDir } from "./helpers.ts";
import { recordFigure } from "./figures.ts";

/** `ggen ARGS` with exactly `flags` (no prompt: a missing permission fails the command) */
async function scoped(flags: string[], args: string[], env: Record<string, string>, cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("permissions: every command works within its documented scopes", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    await central.publish("io.perm.pkg");
    const home = join(work.path, "home");
    const project = join(work.path, "project");
    await Deno.mkdir(home);
    await Deno.mkdir(project);
    const env = { GGEN_HOME: home, GGEN_REGISTRY: central.env.GGEN_REGISTRY };
    const registry = new URL(central.env.GGEN_REGISTRY).host;
    // Running from source reads the project's modules (ROOT); the single file needs only its own path
    const read = `--allow-read=${ROOT},${home},${project}`;
    const write = `--allow-write=${home},${project}`;
    const shown: string[] = [];

    for (const args of [["--version"], ["--help"]]) {
      const r = await scoped([], args, env, project);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      shown.push(`\`ggen ${args.join(" ")}\` with no permission at all`);
    }
    const config = await scoped(["--allow-env", read], ["config", "get", "registry.mode"], env, project);
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /hybrid/);
    shown.push("`config get` with --allow-env and reads of the home");

    const net = `--allow-net=${registry}`;
    for (const args of [["search", "io.perm", "--central"], ["info", "io.perm.pkg", "--central"]]) {
      const r = await scoped(["--allow-env", read, write, net], args, env, project);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /io\.perm\.pkg/);
    }
    const install = await scoped(
      ["--allow-env", read, write, net],
      ["install", "io.perm.pkg", "--central"],
      env,
      project,
    );
    assert.equal(install.code, 0, install.stderr);
    await Deno.stat(join(project, ".ggen", "packages", "io.perm.pkg", "1.0.0", "templates", "file.tmpl"));
    shown.push(
      `search, info and install --central with --allow-net=${"<registry host:port>"} and reads and writes of ` +
        "the home and the project only (no --allow-sys, --allow-run or other paths)",
    );

    // A scope left out is a clear failure, not a prompt or a half-done install
    const noWrite = await scoped(["--allow-env", read, net], ["install", "io.perm.pkg", "--central"], env, project);
    assert.notEqual(noWrite.code, 0);
    assert.match(noWrite.stderr, /write access|NotCapable|permission/i);
    await recordFigure("permissions", shown.join("; "));
  } finally {
    await central.stop();
  }
});
