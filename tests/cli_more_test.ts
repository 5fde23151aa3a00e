/**
 * The CLI's conveniences: outdated and tree, --quiet, completions generated from the command tree
 * (a real bash completes them), and examples under every command's --help.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freshMachine, startCentral } from "./central_helpers.ts";
import { ggen, jsonLines, MAIN, RUN_FLAGS, stopChild, tempDir, writePackage } from "./helpers.ts";

Deno.test("cli: outdated, tree and --quiet on a real project", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    const publisher = join(work.path, "publisher");
    const publish = async (id: string, version: string, deps: Record<string, string> = {}) => {
      const pkg = await writePackage(join(work.path, "src", `${id}-${version}`), { id, version, deps });
      const r = await ggen(["publish", pkg], { home: publisher, env: central.env });
      assert.equal(r.code, 0, r.stderr);
    };
    await publish("io.more.a", "1.0.0");
    await publish("io.more.b", "1.0.0", { "io.more.a": "^1.0.0" });
    const { home, project } = await freshMachine(work.path, "m");
    const run = (args: string[]) => ggen(args, { home, cwd: project, env: central.env });

    const quiet = await run(["-q", "install", "io.more.b"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr.trim(), "", "--quiet leaves only warnings and errors");

    const tree = await run(["tree"]);
    assert.equal(tree.stdout, "io.more.b@1.0.0\n└── io.more.a@1.0.0\n");
    assert.deepEqual(jsonLines((await run(["tree", "--json"])).stdout), [
      { id: "io.more.b", version: "1.0.0", depth: 0, parent: null },
      { id: "io.more.a", version: "1.0.0", depth: 1, parent: "io.more.b" },
    ]);

    const upToDate = await run(["outdated"]);
    assert.equal(upToDate.stdout, "");
    assert.match(upToDate.stderr, /Every requirement is at the newest version/);
    await publish("io.more.b", "1.1.0", { "io.more.a": "^1.0.0" });
    await publish("io.more.b", "2.0.0", { "io.more.a": "^1.0.0" });
    assert.deepEqual(jsonLines((await run(["outdated", "--json"])).stdout), [
      { id: "io.more.b", range: "^1.0.0", current: "1.0.0", wanted: "1.1.0", latest: "2.0.0" },
    ]);
  } finally {
    await central.stop();
  }
});

Deno.test("cli: bash completes commands from the generated script; every command's help has examples", async () => {
  await using work = await tempDir();
  const script = (await ggen(["completions", "bash"], { home: work.path })).stdout;
  const complete = async (...words: string[]) => {
    const r = await new Deno.Command("bash", {
      args: [
        "-c",
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
          words.length - 1
        }; _ggen; echo "\${COMPREPLY[@]}"`,
      ],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(r.stdout).trim().split(" ").sort();
  };
  assert.deepEqual(await complete("ggen", "p2p", "st"), ["start", "status", "stop"]);
  assert.deepEqual(await complete("ggen", "registry", "token", ""), [
    "--json",
    "--quiet",
    "--registry",
    "--verbose",
    "--version",
    "create",
    "revoke",
  ]);
  assert.ok((await complete("ggen", "ins")).includes("install"));
  for (const shell of ["zsh", "fish"]) {
    const r = await ggen(["completions", shell], { home: work.path });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /install/);
  }
  assert.equal((await ggen(["completions", "tcsh"], { home: work.path })).code, 2);

  // Every command path the completion knows has examples in its help
  const paths = [...script.matchAll(/^ {4}"([^"]*)"\) words=/gm)].map((m) => m[1]!);
  assert.ok(paths.length > 40, `${paths.length} commands`);
  // Four at a time (each is a whole CLI start)
  const missing: string[] = [];
  const pending = [...paths];
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let path = pending.shift(); path !== undefined; path = pending.shift()) {
      const r = await ggen([...path.split(" ").filter(Boolean), "--help"], { home: work.path });
      if (!/\nExamples:\n {2}\$ ggen/.test(r.stdout)) missing.push(path || "(ggen)");
    }
  }));
  assert.deepEqual(missing.sort(), []);
});

Deno.test("cli: Ctrl-C during a command says what it stops and exits 130", async () => {
  await using work = await tempDir();
  // A central that accepts and never answers keeps the install waiting
  const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of hole) held.push(c);
    } catch {
      // closed
    }
  })();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...RUN_FLAGS, MAIN, "install", "io.ctrl.c"],
      cwd: work.path,
      env: {
        GGEN_HOME: work.path,
        GGEN_MODE: "central",
        GGEN_REGISTRY: `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}`,
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Bounded wait for the request to reach the hole, then Ctrl-C
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const { code } = await stopChild(child);
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(code, 130, stderr);
    assert.match(stderr, /Interrupted: stopping \(nothing half-done is kept/);
  } finally {
    hole.close();
    for (const c of held) c.close();
    await accepting;
  }
});
