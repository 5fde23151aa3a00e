/**
 * `ggen registry import` loads a marketplace directory (nested, ggen's package.toml and ggen.toml
 * alike) or an index.json into a registry, signed by the importer's key, reporting each package;
 * a second run finds them present; a served registry installs them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveRegistry } from "./central_helpers.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";

const marketplaceToml = (name: string, version: string) =>
  `[package]\nname = "${name}"\nversion = "${version}"\ndescription = "${name} templates"\nauthor = "ggen-team"\n` +
  `license = "MIT"\ndependencies = []\ntags = ["test"]\n\n[variables]\nx = { type = "string" }\n`;

async function marketPackage(dir: string, name: string, version = "1.0.0"): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "package.toml"), marketplaceToml(name, version));
  await Deno.writeTextFile(join(dir, "template.tmpl"), `${name}\n`);
}

Deno.test("registry import: a marketplace directory and an index.json, reported per package", async () => {
  await using work = await tempDir();
  const repo = join(work.path, "repo");
  const packages = join(repo, "marketplace", "packages");
  await marketPackage(join(packages, "hello-world"), "hello-world");
  await marketPackage(join(packages, "healthcare", "fhir-patient"), "fhir-patient");
  await marketPackage(join(packages, "broken"), "broken", "one");
  await writePackage(join(packages, "plain"), { id: "io.example.plain", version: "2.0.0" });
  await Deno.mkdir(join(repo, "marketplace", "registry"), { recursive: true });
  const index = join(repo, "marketplace", "registry", "index.json");
  await Deno.writeTextFile(
    index,
    JSON.stringify({
      version: "1",
      package_count: 2,
      packages: [
        { name: "hello-world", path: "marketplace/packages/hello-world" },
        { name: "escape", path: "../../etc" },
      ],
    }),
  );
  const home = join(work.path, "importer");
  await Deno.mkdir(home);
  const data = join(work.path, "reg");
  const run = (paths: string[]) => ggen(["registry", "import", "--data", data, ...paths, "--json"], { home });

  const first = await run([packages]);
  assert.equal(first.code, 0, first.stderr);
  const results = jsonLines<{ id: string | null; result: string; reason: string | null }>(first.stdout);
  assert.deepEqual(
    results.map((r) => `${r.id}:${r.result}`).sort(),
    ["io.example.plain:imported", "io.ggen.fhir-patient:imported", "io.ggen.hello-world:imported", "null:refused"],
  );
  assert.match(results.find((r) => r.result === "refused")!.reason!, /semver/);
  assert.match(first.stderr, /3 imported, 0 already there, 1 refused, signed by SHA256:/);

  const again = jsonLines<{ result: string }>((await run([packages])).stdout);
  assert.deepEqual(again.map((r) => r.result).sort(), ["present", "present", "present", "refused"]);
  const viaIndex = jsonLines<{ id: string; result: string }>((await run([index])).stdout);
  assert.deepEqual(
    viaIndex.map((r) => `${r.id}:${r.result}`),
    ["io.ggen.hello-world:present"],
    "the ../ path is skipped",
  );

  // Served, the imported packages install and verify like published ones
  const server = await serveRegistry(["--data", data, "--port", "0"], home);
  try {
    const client = join(work.path, "client");
    await Deno.mkdir(client);
    const r = await ggen(["install", "io.ggen.hello-world"], { home: client, env: { GGEN_REGISTRY: server.url } });
    assert.equal(r.code, 0, r.stderr);
    const installed = join(client, ".ggen", "packages", "io.ggen.hello-world", "1.0.0", "package.toml");
    assert.equal(await Deno.readTextFile(installed), marketplaceToml("hello-world", "1.0.0"));
  } finally {
    await server.stop();
  }
});
