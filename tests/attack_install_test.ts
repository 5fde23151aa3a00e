/**
 * Install-side attacks from a hostile or compromised registry (issue 10): traversal ids and
 * versions, dependencies a registry added, a lock that must hold, stripped registry signatures,
 * endless bodies, terminal escapes, malformed answers, cross-origin redirects. Real CLI, real
 * registry, a hand-written hostile registry in front of it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { packDirectory } from "../src/archive/mod.ts";
import { apiPaths } from "../src/core/api.ts";
import { type PackageInfo, versionFromManifest } from "../src/core/package.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { ggen, tempDir, writePackage } from "./helpers.ts";
import { hostileRegistry, realInfo, realRegistry } from "./hostile_registry.ts";
import { recordFigure } from "./figures.ts";

const INFO = (id: string) => apiPaths.package(id);

/** A package document without the registry's signature */
function unsigned(info: PackageInfo): PackageInfo {
  const { metadata_signature: _dropped, ...rest } = info;
  return rest;
}

/** Every path under `dir`, to prove nothing appeared outside a project */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) { for (const sub of await tree(join(dir, e.name))) out.push(`${e.name}/${sub}`); }
  }
  return out.sort();
}

Deno.test("install: ids, versions and dependencies from a registry never build a path outside the project", async (t) => {
  await using work = await tempDir();
  await using reg = await realRegistry(work.path);
  const publisher = join(work.path, "publisher");
  await Deno.mkdir(publisher);
  await reg.publish(publisher, { id: "io.app.lib", version: "1.0.0" });
  await reg.publish(publisher, { id: "io.app.main", version: "1.0.0", deps: { "io.app.lib": "^1" } });
  const honest = await realInfo(reg.server.url, "io.app.main");
  const cases: Record<string, (doc: typeof honest) => unknown> = {
    "dependency id ../../../../escape": (d) => ({
      ...d,
      versions: d.versions.map((v) => ({ ...v, dependencies: { ...v.dependencies, "../../../../escape": "*" } })),
    }),
    "version id ../../escape": (d) => ({ ...d, versions: d.versions.map((v) => ({ ...v, id: "../../escape" })) }),
    "version ../../../escape": (d) => ({
      ...d,
      versions: d.versions.map((v) => ({ ...v, version: "../../../escape" })),
    }),
    "a document for another id": (d) => ({ ...d, id: "io.app.lib" }),
    "an added valid dependency (unsigned)": (d) => ({
      ...d,
      versions: d.versions.map((v) => ({
        ...v,
        dependencies: { ...v.dependencies, "io.app.lib": "^1", "io.x.y": "*" },
      })),
    }),
    "versions is not a list": (d) => ({ ...d, versions: { length: 1 } }),
  };
  const refusals: Record<string, RegExp> = {
    "dependency id ../../../../escape": /is not a reverse-DNS package id/,
    "version id ../../escape": /is not a reverse-DNS package id/,
    "version ../../../escape": /is not a semver version/,
    "a document for another id": /the document is for "io.app.lib"/,
    "an added valid dependency (unsigned)": /dependencies differ from the ones its publisher signed/,
    "versions is not a list": /versions: expected an array/,
  };
  let refused = 0;
  let outside = 0;
  for (const [name, alter] of Object.entries(cases)) {
    await t.step(name, async () => {
      await using evil = await hostileRegistry(
        (req, url) =>
          req.method === "GET" && url.pathname === INFO("io.app.main")
            ? Response.json(alter(unsigned(honest)))
            : undefined,
        reg.server.url,
      );
      const home = join(work.path, `home-${crypto.randomUUID()}`);
      const project = join(home, "a", "b", "project");
      await Deno.mkdir(project, { recursive: true });
      const r = await ggen(["install", "io.app.main"], { home, cwd: project, env: { GGEN_REGISTRY: evil.url } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, refusals[name]!);
      assert.doesNotMatch(r.stderr, /TypeError/);
      // Nothing was written anywhere under the home but the cache, and no lock
      const written = (await tree(home)).filter((p) => !p.startsWith("cache") && !p.startsWith("trust.toml"));
      outside += written.filter((p) => /escape/.test(p)).length;
      assert.deepEqual(written.filter((p) => /escape/.test(p)), []);
      assert.deepEqual(written.filter((p) => p.endsWith("ggen.lock")), []);
      refused++;
    });
  }

  await t.step("a compromised registry database adds a dependency: the publisher's signature refuses it", async () => {
    const db = new DatabaseSync(join(work.path, "registry", "registry.db"));
    db.prepare("UPDATE versions SET dependencies = ? WHERE id = ?").run(
      JSON.stringify({ "io.app.lib": "^1", "io.app.main": "*" }),
      "io.app.main",
    );
    // The registry serves a kept document while its package's seq is unchanged, so an attacker
    // who wants the edit served bumps the seq as every store write does
    db.prepare("UPDATE packages SET seq = seq + 1 WHERE id = ?").run("io.app.main");
    db.close();
    const home = join(work.path, "home-db");
    await Deno.mkdir(home);
    const r = await ggen(["install", "io.app.main"], { home, env: { GGEN_REGISTRY: reg.server.url } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /dependencies differ from the ones its publisher signed/);
  });

  await t.step("a lockfile, a trust store or a verify run with a traversal id is refused before any path", async () => {
    const home = join(work.path, "home-lock");
    await Deno.mkdir(home);
    const lock = `version = 1\n[requires]\n[[package]]\nid = "../../../../tmp"\nversion = "1.0.0"\nsha256 = "${
      "a".repeat(64)
    }"\nsize = 1\nsource = "central"\n`;
    await Deno.writeTextFile(join(home, "ggen.lock"), lock);
    for (const cmd of [["verify"], ["list"], ["install"]]) {
      const r = await ggen(cmd, { home, env: { GGEN_REGISTRY: reg.server.url } });
      assert.equal(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /is not a reverse-DNS package id/, cmd.join(" "));
    }
    await Deno.remove(join(home, "ggen.lock"));
    await Deno.writeTextFile(join(home, "trust.toml"), `[packages."../../x"]\nkeys = ["SHA256:x"]\n`);
    const r = await ggen(["install", "io.app.lib"], { home, env: { GGEN_REGISTRY: reg.server.url } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid trust store .* is not a package id/);
  });
  await recordFigure(
    "traversal",
    `${refused}/${Object.keys(cases).length} hostile package documents refused (traversal ids and versions, ` +
      `another id, unsigned dependencies, bad shapes), ${outside} paths created outside; a dependency added in the ` +
      "registry database refused; traversal ids in ggen.lock (verify, list, install) and trust.toml refused",
  );
});

Deno.test("install: ggen.lock pins bytes and signer; a pinned registry must sign; info verifies", async (t) => {
  await using work = await tempDir();
  await using reg = await realRegistry(work.path);
  const alice = join(work.path, "alice");
  await Deno.mkdir(alice);
  await reg.publish(alice, { id: "io.lock.pkg", version: "1.0.0" });
  const home = join(work.path, "home");
  const project = join(work.path, "project");
  await Deno.mkdir(home);
  await Deno.mkdir(project);
  const first = await ggen(["install", "io.lock.pkg"], { home, cwd: project, env: { GGEN_REGISTRY: reg.server.url } });
  assert.equal(first.code, 0, first.stderr);
  const lock = await Deno.readTextFile(join(project, "ggen.lock"));

  // Mallory's bytes for the same id and version, signed by Mallory
  await generateKey(work.path, "mallory");
  const mallory = await loadSigner(work.path, "mallory");
  const packed = await packDirectory(
    await writePackage(join(work.path, "evil"), { id: "io.lock.pkg", version: "1.0.0", extra: "evil" }),
  );
  const evilVersion = await signVersion(versionFromManifest(packed.manifest, packed), mallory, Date.now());
  const honest = await realInfo(reg.server.url, "io.lock.pkg");
  await using evil = await hostileRegistry((_req, url) => {
    if (url.pathname === INFO("io.lock.pkg")) {
      return Response.json({ ...unsigned(honest), versions: [evilVersion] });
    }
    // Mallory's bytes under Mallory's digest, and under the honest digest the lock pins too
    const served = [packed.sha256, ...honest.versions.map((v) => v.sha256)].map((sha) => apiPaths.blob(sha));
    if (served.includes(url.pathname)) return new Response(packed.bytes as Uint8Array<ArrayBuffer>);
    return undefined;
  }, reg.server.url);

  await t.step("a fresh machine with the committed lock refuses other bytes and keeps the lock", async () => {
    for (const args of [["install"], ["install", "io.lock.pkg"], ["update", "io.lock.pkg"]]) {
      const freshHome = join(work.path, `fresh-${crypto.randomUUID()}`);
      const freshProject = join(work.path, `clone-${crypto.randomUUID()}`);
      await Deno.mkdir(freshHome);
      await Deno.mkdir(freshProject);
      await Deno.writeTextFile(join(freshProject, "ggen.lock"), lock);
      const r = await ggen(args, { home: freshHome, cwd: freshProject, env: { GGEN_REGISTRY: evil.url } });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      // install (restore): the cache checks the bytes against the lock's sha256; install ID and update:
      // the lock's registry key refuses the other registry's documents (or the lock's sha256 and
      // publisher key refuse Mallory's versions)
      assert.match(
        r.stderr,
        /ggen\.lock pins sha256|pinned to .* \(by ggen\.lock\)|Checksum mismatch: expected sha256|more than the expected \d+ bytes|the registry did not sign it, but its key .* is pinned/,
        `${args.join(" ")}: ${r.stderr}`,
      );
      assert.equal(await Deno.readTextFile(join(freshProject, "ggen.lock")), lock);
      await assert.rejects(Deno.stat(join(freshProject, ".ggen", "packages", "io.lock.pkg", "1.0.0")));
    }
    await recordFigure(
      "lockfile",
      "a registry serving Mallory's bytes for a locked version, on a fresh machine with the committed lock: " +
        "`install`, `install ID` and `update ID` all refused, lock byte-identical, nothing installed; " +
        "the same lock against the honest registry restores with the lock unchanged",
    );
  });

  await t.step("a version with semver build metadata publishes and installs", async () => {
    await reg.publish(alice, { id: "io.build.pkg", version: "1.0.0+build.5" });
    const r = await ggen(["install", "io.build.pkg"], { home, cwd: project, env: { GGEN_REGISTRY: reg.server.url } });
    assert.equal(r.code, 0, r.stderr);
    await Deno.stat(join(project, ".ggen", "packages", "io.build.pkg", "1.0.0+build.5", "templates", "file.tmpl"));
  });

  await t.step("the committed lock restores on a fresh machine from the honest registry", async () => {
    const freshHome = join(work.path, "fresh-honest");
    const freshProject = join(work.path, "clone-honest");
    await Deno.mkdir(freshHome);
    await Deno.mkdir(freshProject);
    await Deno.writeTextFile(join(freshProject, "ggen.lock"), lock);
    const r = await ggen(["install"], { home: freshHome, cwd: freshProject, env: { GGEN_REGISTRY: reg.server.url } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(freshProject, "ggen.lock")), lock);
  });

  await t.step(
    "with the registry key pinned, a stripped or altered document is refused by info and install",
    async () => {
      const strip = await hostileRegistry(
        (_req, url) => url.pathname === INFO("io.lock.pkg") ? Response.json(unsigned(honest)) : undefined,
        reg.server.url,
      );
      const alter = await hostileRegistry(
        (_req, url) =>
          url.pathname === INFO("io.lock.pkg")
            ? Response.json({ ...honest, versions: honest.versions.map((v) => ({ ...v, yanked: true })) })
            : undefined,
        reg.server.url,
      );
      try {
        for (const [server, why] of [[strip, /did not sign it/], [alter, /versions do not match/]] as const) {
          for (const args of [["info", "io.lock.pkg"], ["install", "io.lock.pkg"]]) {
            const r = await ggen(args, { home, cwd: project, env: { GGEN_REGISTRY: server.url } });
            assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, why);
          }
        }
      } finally {
        await strip[Symbol.asyncDispose]();
        await alter[Symbol.asyncDispose]();
      }
      await recordFigure(
        "stripped-signature",
        "registry key pinned: a stripped signature and altered versions each refused by `info` and by `install`",
      );
    },
  );
});

Deno.test("client: bounded reads, escaped text, typed errors, same-origin redirects only", async (t) => {
  await using work = await tempDir();
  const home = join(work.path, "home");
  await Deno.mkdir(home);
  let sent = 0;
  const endless = () =>
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"hits":["'));
      },
      pull(c) {
        sent += 65536;
        c.enqueue(new Uint8Array(65536).fill(0x61));
      },
    });

  await t.step("endless search, error and key bodies stop at the cap", async () => {
    const queued: string[] = [];
    for (const status of [200, 404, 500]) {
      sent = 0;
      await using evil = await hostileRegistry(() => new Response(endless(), { status }));
      const r = await ggen(["search", "x", "--central"], {
        home,
        env: { GGEN_REGISTRY: evil.url, GGEN_TIMEOUT_SECS: "5" },
      });
      assert.equal(r.code, 1, r.stderr);
      if (status === 200) assert.match(r.stderr, /over the .*-byte limit|more than the .*-byte limit/);
      console.log(`  endless ${status} body: the client hung up after the server had queued ${sent} bytes`);
      assert.ok(sent < 8 * 1024 * 1024, `read ${sent} bytes`);
      queued.push(`${status}: ${(sent / 1024 / 1024).toFixed(1)} MiB`);
    }
    await recordFigure(
      "client-memory",
      `endless bodies: the client hung up after the server had queued ${queued.join(", ")} ` +
        "(caps 1 MiB search, 64 KiB error bodies; the rest sits in socket buffers)",
    );
  });

  await t.step("control and bidi characters from a registry are escaped on the terminal", async () => {
    const hostile = "\x1b[2J\x1b]0;pwned\x07\r\u202eevil\u0000";
    await using evil = await hostileRegistry(() =>
      Response.json({
        total: 1,
        hits: [{ id: "io.evil.pkg", name: hostile, version: "1.0.0", description: hostile, tags: [] }],
      })
    );
    const r = await ggen(["search", "x", "--central"], { home, env: { GGEN_REGISTRY: evil.url } });
    assert.equal(r.code, 0, r.stderr);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    assert.match(r.stdout, /\\u\{1b\}\[2J/);
    await recordFigure(
      "terminal",
      "ESC/OSC, BEL, CR, RLO and NUL in a registry's search answer: printed as visible escapes, 0 raw control " +
        "bytes on stdout; a manifest description with ESC: `pack` refused",
    );
  });

  await t.step("a publish with control characters in its manifest is refused", async () => {
    const pkg = await writePackage(join(work.path, "esc"), {
      id: "io.esc.pkg",
      version: "1.0.0",
      description: "a\\u001b[31mred",
    });
    const r = await ggen(["pack", pkg], { home, cwd: work.path });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /must not contain control, bidi or invisible characters/);
  });

  await t.step("malformed answers are typed errors naming the field", async () => {
    const answers: [unknown, RegExp][] = [
      [{ hits: [{ id: 7 }] }, /hits\[0\]\.id/],
      [{ hits: "no" }, /hits: expected an array/],
      [[1, 2], /expected an object/],
    ];
    for (const [body, why] of answers) {
      await using evil = await hostileRegistry(() => Response.json(body));
      const r = await ggen(["search", "x", "--central"], { home, env: { GGEN_REGISTRY: evil.url } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /TypeError|Cannot read properties/);
    }
  });

  await t.step("a redirect to another origin is refused and the other origin sees nothing", async () => {
    await using elsewhere = await hostileRegistry(() => Response.json({ total: 0, hits: [] }));
    await using evil = await hostileRegistry((_req, url) =>
      new Response(null, { status: 302, headers: { location: elsewhere.url + url.pathname + url.search } })
    );
    for (const args of [["search", "x", "--central"], ["yank", "io.a.b@1.0.0"]]) {
      const r = await ggen(args, { home, env: { GGEN_REGISTRY: evil.url, GGEN_TOKEN: "ggen_secret" } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Refusing a redirect .* to another origin/);
    }
    assert.equal(elsewhere.seen.length, 0);
    await recordFigure(
      "malformed",
      "3 malformed search answers: typed errors naming the field, 0 TypeErrors; documents for another id refused; " +
        `a redirect to another origin refused for search and yank, the other origin saw ${elsewhere.seen.length} requests`,
    );
  });

  await t.step("a negative GGEN_TIMEOUT_SECS is a configuration error", async () => {
    const r = await ggen(["search", "x"], { home, env: { GGEN_TIMEOUT_SECS: "-1" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid GGEN_TIMEOUT_SECS "-1"/);
    assert.doesNotMatch(r.stderr, /RangeError/);
  });
});
