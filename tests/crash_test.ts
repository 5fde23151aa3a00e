/**
 * Crash safety: `ggen install` killed with SIGKILL at random points, and the registry killed
 * during `ggen publish`. After every kill the state on disk must be consistent; after recovery
 * nothing is left behind. 200 install kills and 100 publish kills by default; set
 * GGEN_CRASH_TRIALS / GGEN_PUBLISH_CRASH_TRIALS for a quicker or longer run.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readArchive } from "../src/archive/mod.ts";
import { INSTALL_MARKER } from "../src/core/constants.ts";
import { createSha256 } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, openRegistryStorage, startRegistryServer } from "../src/registry/server/mod.ts";
import { createPackageCache, readLockfile, verifyProject } from "../src/store/mod.ts";
import { ggen, MAIN, randomBytes, runFlags, tempDir, writePackage } from "./helpers.ts";

const INSTALL_TRIALS = Number(Deno.env.get("GGEN_CRASH_TRIALS") ?? 200);
const PUBLISH_TRIALS = Number(Deno.env.get("GGEN_PUBLISH_CRASH_TRIALS") ?? 100);
/**
 * Install trials run two at a time, each in its own home and project: the suite stays near 20
 * minutes on a 2-core CI machine (one at a time, these 200 trials took 5 of its 21 minutes)
 */
const LANES = 2;

function spawnGgen(
  args: string[],
  opts: { home: string; cwd: string; env: Record<string, string> },
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...runFlags(args), MAIN, ...args],
    cwd: opts.cwd,
    env: { GGEN_HOME: opts.home, NO_COLOR: "1", GGEN_MDNS: "0", ...opts.env },
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function sha(path: string): Promise<string> {
  using f = await Deno.open(path, { read: true });
  const h = await createSha256();
  for await (const c of f.readable) h.update(c);
  return h.hex();
}

/** Every directory marked complete must be byte-identical to its archive; returns how many were checked */
async function checkMarkedDirectories(project: string, home: string): Promise<number> {
  const root = join(project, ".ggen", "packages");
  let checked = 0;
  let ids: Deno.DirEntry[] = [];
  try {
    ids = [...Deno.readDirSync(root)];
  } catch {
    return 0;
  }
  for (const id of ids) {
    for (const v of Deno.readDirSync(join(root, id.name))) {
      const dir = join(root, id.name, v.name);
      let marker: string;
      try {
        marker = (await Deno.readTextFile(join(dir, INSTALL_MARKER))).trim();
      } catch {
        continue; // unmarked: incomplete, repaired on the next run
      }
      const blob = join(home, "cache", "sha256", marker);
      const files = new Map<string, string>();
      await readArchive({ path: blob }, async (entry, body) => {
        const h = await createSha256();
        for await (const c of body) h.update(c);
        if (entry.type === "file") files.set(entry.path, h.hex());
      });
      for (const [path, digest] of files) assert.equal(await sha(join(dir, path)), digest, `${dir}/${path} differs`);
      checked++;
    }
  }
  return checked;
}

Deno.test("crash safety: ggen install killed at random points leaves a consistent, repairable state", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  try {
    const { token } = await createToken(server.metadata);
    const publisher = join(work.path, "publisher");
    await Deno.mkdir(publisher);
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, GGEN_MODE: "central" };
    const big = randomBytes(4 * 1024 * 1024);
    for (const version of ["1.0.0", "2.0.0"]) {
      const lib = await writePackage(join(work.path, `lib-${version}`), { id: "io.crash.lib", version });
      await Deno.writeFile(join(lib, "templates", "big.bin"), big.map((b) => b ^ Number(version[0])));
      for (let i = 0; i < 300; i++) await Deno.writeTextFile(join(lib, "templates", `f${i}.txt`), `${version} ${i}\n`);
      const app = await writePackage(join(work.path, `app-${version}`), {
        id: "io.crash.app",
        version,
        deps: { "io.crash.lib": version },
      });
      for (const dir of [lib, app]) assert.equal((await ggen(["publish", dir], { home: publisher, env })).code, 0);
    }
    // A baseline: how long a whole install takes, so kills land across all of it. Timed as the
    // trials run, LANES at once
    const lanes = Array.from({ length: LANES }, (_, lane) => lane);
    const timed = async (args: string[]) =>
      Math.max(
        ...await Promise.all(lanes.map(async (lane) => {
          const base = join(work.path, `base${lane}`);
          await Deno.mkdir(base, { recursive: true });
          const t0 = performance.now();
          const r = await ggen(args, { home: join(work.path, `bh${lane}`), cwd: base, env });
          assert.equal(r.code, 0, r.stderr);
          return performance.now() - t0;
        })),
      );
    const fullMs = await timed(["install", "io.crash.app@2.0.0"]);
    // Process start-up (no work yet) is not interesting to kill: aim the kills at the work after it
    const startupMs = Math.min(await timed(["list"]), fullMs * 0.8);

    let marked = 0;
    let incompleteLeft = 0;
    let orphanTemps = 0;
    const states = new Map<string, number>();
    // Every trial starts from a copy of one good install of 1.0.0
    const templateHome = join(work.path, "th");
    const templateProject = join(work.path, "tp");
    await Deno.mkdir(templateProject, { recursive: true });
    assert.equal(
      (await ggen(["install", "io.crash.app@1.0.0"], { home: templateHome, cwd: templateProject, env })).code,
      0,
    );
    let nextTrial = 0;
    const lane = async () => {
      for (let trial = nextTrial++; trial < INSTALL_TRIALS; trial = nextTrial++) await killTrial(trial);
    };
    const killTrial = async (trial: number) => {
      const home = join(work.path, `h${trial}`);
      const project = join(work.path, `p${trial}`);
      const cp = await new Deno.Command("cp", { args: ["-a", templateHome, home] }).output();
      const cp2 = await new Deno.Command("cp", { args: ["-a", templateProject, project] }).output();
      assert.ok(cp.success && cp2.success);
      // Kill the upgrade to 2.0.0 at a random moment
      const lockBefore = await Deno.readTextFile(join(project, "ggen.lock"));
      const child = spawnGgen(["install", "io.crash.app@2.0.0"], { home, cwd: project, env });
      await new Promise((r) => setTimeout(r, startupMs * 0.9 + Math.random() * (fullMs * 1.1 - startupMs * 0.9)));
      try {
        child.kill("SIGKILL");
      } catch { /* already finished */ }
      await child.status;
      // Invariants right after the kill
      marked += await checkMarkedDirectories(project, home);
      const lockAfter = await Deno.readTextFile(join(project, "ggen.lock"));
      const lock = await readLockfile(project);
      const version = lock.packages.find((p) => p.id === "io.crash.app")?.version ?? "?";
      states.set(
        version === "2.0.0" ? "upgraded" : lockAfter === lockBefore ? "previous state" : "other",
        (states.get(version === "2.0.0" ? "upgraded" : lockAfter === lockBefore ? "previous state" : "other") ?? 0) + 1,
      );
      for (const p of lock.packages) {
        await Deno.stat(join(project, ".ggen", "packages", p.id, p.version, INSTALL_MARKER));
      }
      const tmps = (dir: string) => {
        try {
          return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(".tmp-")).length;
        } catch {
          return 0;
        }
      };
      orphanTemps += tmps(join(project, ".ggen", "tmp")) + tmps(join(home, "cache", "sha256"));
      // Recovery: the next run repairs what the kill left and cleans temp files
      const again = await ggen(["install", "io.crash.app@2.0.0"], { home, cwd: project, env });
      assert.equal(again.code, 0, again.stderr);
      if (/Removing incomplete install/.test(again.stderr)) incompleteLeft++;
      assert.deepEqual(await verifyProject(project, createPackageCache({ logger: silentLogger }, { home })), []);
      assert.deepEqual([...Deno.readDirSync(join(project, ".ggen", "tmp"))], []);
      assert.deepEqual(
        [...Deno.readDirSync(join(home, "cache", "sha256"))].filter((e) => e.name.startsWith(".tmp-")),
        [],
      );
    };
    await Promise.all(lanes.map(lane));
    console.log(
      `  install kills: ${INSTALL_TRIALS} trials between ${startupMs.toFixed(0)} and ${
        (fullMs * 1.1).toFixed(0)
      } ms of ${fullMs.toFixed(0)} ms installs; states: ${
        JSON.stringify(Object.fromEntries(states))
      }; ${marked} complete directories checked byte-identical, 0 differing; ${orphanTemps} orphan temp files and ${incompleteLeft} incomplete installs found and cleaned by the next run`,
    );
    await recordFigure(
      "crash-install",
      String(
        `  install kills: ${INSTALL_TRIALS} trials between ${startupMs.toFixed(0)} and ${
          (fullMs * 1.1).toFixed(0)
        } ms of ${fullMs.toFixed(0)} ms installs; states: ${
          JSON.stringify(Object.fromEntries(states))
        }; ${marked} complete directories checked byte-identical, 0 differing; ${orphanTemps} orphan temp files and ${incompleteLeft} incomplete installs found and cleaned by the next run`,
      ).trim(),
    );
    assert.equal(states.get("other") ?? 0, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("crash safety: the registry killed during ggen publish leaves no row without a blob and no orphan blob after recovery", async () => {
  await using work = await tempDir();
  const data = join(work.path, "reg");
  const { metadata } = await openRegistryStorage(data);
  const { token } = await createToken(metadata);
  await metadata.close();
  const home = join(work.path, "home");
  await Deno.mkdir(home);
  const big = randomBytes(2 * 1024 * 1024);
  let published = 0;
  let orphansSeen = 0;
  for (let trial = 0; trial < PUBLISH_TRIALS; trial++) {
    const serve = ["registry", "serve", "--port", "0", "--data", data, "--json"];
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...runFlags(serve), MAIN, ...serve],
      env: { GGEN_HOME: home, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += value;
    }
    const { url } = JSON.parse(line) as { url: string };
    const pkg = await writePackage(join(work.path, `pkg${trial}`), { id: "io.crash.pub", version: `1.0.${trial}` });
    await Deno.writeFile(join(pkg, "templates", "big.bin"), big.map((b) => b ^ trial));
    const publish = ggen(["publish", pkg], { home, env: { GGEN_REGISTRY: url, GGEN_TOKEN: token } });
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
    server.kill("SIGKILL");
    await server.status;
    reader.releaseLock();
    await server.stdout.cancel().catch(() => {});
    if ((await publish).code === 0) published++;
    // Right after the kill: every row has its blob
    const storage = await openRegistryStorage(data);
    const blobs = new Set(await storage.blobs.list());
    for (const digest of await storage.metadata.listBlobDigests()) {
      assert.ok(blobs.has(digest), `row without blob ${digest}`);
    }
    for (const b of blobs) if (!await storage.metadata.isBlobReferenced(b)) orphansSeen++;
    await storage.metadata.close();
  }
  // Recovery: a start collects orphans
  const recovered = await startRegistryServer({ logger: silentLogger }, { dataDir: data, port: 0 });
  const blobs = new Set(await recovered.blobs.list());
  const rows = await recovered.metadata.listBlobDigests();
  await recovered.stop();
  assert.deepEqual([...blobs].sort(), [...new Set(rows)].sort());
  console.log(
    `  publish kills: ${PUBLISH_TRIALS} trials, ${published} publishes completed, 0 rows without a blob, ${orphansSeen} orphan blobs seen before recovery, 0 after`,
  );
  await recordFigure(
    "crash-publish",
    String(
      `  publish kills: ${PUBLISH_TRIALS} trials, ${published} publishes completed, 0 rows without a blob, ${orphansSeen} orphan blobs seen before recovery, 0 after`,
    ).trim(),
  );
});
