/**
 * A static index.json on a plain web server is a read-only central source: `ggen registry export`
 * writes the index and tarballs, a file server serves them, and a client with the index's URL as
 * its registry searches (by id and by the plain ggen name), installs with every byte and
 * signature checked (publisher trusted on first use), refuses tampered bytes, refuses to publish,
 * and lists ggen's own unsigned index without installing from it.
 */
import assert from "node:assert/strict";
import { join, normalize } from "node:path";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";

const marketplaceToml = (name: string, version: string) =>
  `[package]\nname = "${name}"\nversion = "${version}"\ndescription = "${name} templates"\nauthor = "ggen-team"\n` +
  `license = "MIT"\ndependencies = []\ntags = ["static"]\n`;

async function marketPackage(dir: string, name: string, version: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "package.toml"), marketplaceToml(name, version));
  await Deno.writeTextFile(join(dir, "template.tmpl"), `${name} ${version}\n`);
}

/** A plain static file server over `root` (what any web server does), counting requests by path */
function serveFiles(root: string): { url: string; hits: Map<string, number> } & AsyncDisposable {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return new Response("no", { status: 403 });
    try {
      return new Response(await Deno.readFile(file));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("static index: export, serve with a file server, search, install, refuse tampering and publishing", async () => {
  await using work = await tempDir();
  const market = join(work.path, "market");
  await marketPackage(join(market, "hello-world"), "hello-world", "1.0.0");
  await marketPackage(join(market, "fhir-patient"), "fhir-patient", "1.0.0");
  const home = join(work.path, "importer");
  await Deno.mkdir(home);
  const data = join(work.path, "reg");
  const imported = await ggen(["registry", "import", "--data", data, market], { home });
  assert.equal(imported.code, 0, imported.stderr);
  // A second version, so the index carries a history
  await marketPackage(join(market, "hello-world"), "hello-world", "1.1.0");
  assert.equal((await ggen(["registry", "import", "--data", data, market], { home })).code, 0);

  const site = join(work.path, "site");
  const exported = await ggen(["registry", "export", "--data", data, site, "--json"], { home });
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(
    jsonLines<{ packages: number; tarballs_written: number }>(exported.stdout).map((r) => [
      r.packages,
      r.tarballs_written,
    ]),
    [[2, 3]],
  );
  const again = jsonLines<{ tarballs_kept: number }>(
    (await ggen(["registry", "export", "--data", data, site, "--json"], { home })).stdout,
  );
  assert.equal(again[0]!.tarballs_kept, 3, "a second export rewrites nothing");
  const index = JSON.parse(await Deno.readTextFile(join(site, "index.json")));
  const hello = index.packages.find((p: { id: string }) => p.id === "io.ggen.hello-world");
  assert.equal(hello.version, "1.1.0");
  assert.deepEqual(hello.releases.map((r: { version: string }) => r.version), ["1.0.0", "1.1.0"]);
  assert.ok(hello.releases.every((r: { signature?: unknown }) => r.signature), "every release is signed");

  await using files = serveFiles(site);
  const client = join(work.path, "client");
  await Deno.mkdir(client);
  const env = { GGEN_REGISTRY: `${files.url}/index.json`, GGEN_MODE: "central" };
  const run = (args: string[]) => ggen(args, { home: client, env });

  const byWord = await run(["search", "fhir", "--json"]);
  assert.equal(byWord.code, 0, byWord.stderr);
  assert.deepEqual(jsonLines<{ id: string }>(byWord.stdout).map((h) => h.id), ["io.ggen.fhir-patient"]);
  const byName = await run(["search", "hello-world", "--json"]);
  assert.deepEqual(jsonLines<{ id: string; version: string }>(byName.stdout).map((h) => `${h.id}@${h.version}`), [
    "io.ggen.hello-world@1.1.0",
  ]);

  const install = await run(["install", "io.ggen.hello-world"]);
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stderr, /Trusting SHA256:\S+ for "io\.ggen\.hello-world" \(first use/);
  const installed = join(client, ".ggen", "packages", "io.ggen.hello-world", "1.1.0", "package.toml");
  assert.equal(await Deno.readTextFile(installed), marketplaceToml("hello-world", "1.1.0"));
  assert.equal(files.hits.get("/tarballs/io.ggen.hello-world-1.1.0.tgz"), 1);
  const pinned = await run(["install", "io.ggen.hello-world@1.0.0"]);
  assert.equal(pinned.code, 0, pinned.stderr);

  // Tampered bytes on the web server: refused, nothing installed
  await Deno.writeTextFile(join(site, "tarballs", "io.ggen.fhir-patient-1.0.0.tgz"), "not the signed bytes");
  const tampered = await run(["install", "io.ggen.fhir-patient"]);
  assert.notEqual(tampered.code, 0);
  assert.match(tampered.stderr, /sha256|digest|integrity/i);
  await assert.rejects(Deno.stat(join(client, ".ggen", "packages", "io.ggen.fhir-patient")));

  // Read-only: publishing names the reason and what to do
  const pkg = await writePackage(join(work.path, "pkg"), { id: "io.example.mine", version: "1.0.0" });
  const publish = await ggen(["publish", pkg], { home: client, env: { ...env, GGEN_TOKEN: "ggen_x" } });
  assert.notEqual(publish.code, 0);
  assert.match(publish.stderr, /static index \(read-only\)/);
  await assert.rejects(Deno.stat(join(client, "keys")), "refused before any signing key was created");
});

Deno.test("static index: ggen's own unsigned index.json is searched, never installed from", async () => {
  await using work = await tempDir();
  const site = join(work.path, "site");
  await Deno.mkdir(site);
  await Deno.writeTextFile(
    join(site, "index.json"),
    JSON.stringify({
      version: "1.0.0",
      updated_at: "2025-01-01T00:00:00Z",
      package_count: 3,
      categories: ["cli"],
      packages: [
        { name: "rust-cli", version: "1.2.0", category: "cli", description: "Rust CLI templates", tags: ["rust"] },
        { name: "broken", version: "one" },
        { name: 42, version: "1.0.0" },
      ],
    }),
  );
  await using files = serveFiles(site);
  const client = join(work.path, "client");
  await Deno.mkdir(client);
  const env = { GGEN_REGISTRY: `${files.url}/index.json`, GGEN_MODE: "central" };
  const search = await ggen(["search", "rust", "--json"], { home: client, env });
  assert.equal(search.code, 0, search.stderr);
  assert.deepEqual(jsonLines<{ id: string }>(search.stdout).map((h) => h.id), ["io.ggen.rust-cli"]);
  assert.match(search.stderr, /left out 2 invalid entries/);
  const install = await ggen(["install", "io.ggen.rust-cli"], { home: client, env });
  assert.notEqual(install.code, 0);
  assert.match(install.stderr, /without signed releases/);
  await assert.rejects(Deno.stat(join(client, ".ggen", "packages", "io.ggen.rust-cli")));
});
