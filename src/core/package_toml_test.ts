import assert from "node:assert/strict";
import { ValidationError } from "./errors.ts";
import { idOfName, manifestFromPackageToml, slugOf } from "./package_toml.ts";

const HELLO = `# A starter, in ggen's marketplace format
[package]
name = "hello-world"
full_name = "hello-world-starter"
version = "1.0.0"
description = "Starter template"
category = "starter"
author = "ggen-team"
repository = "https://example.org/ggen"
license = "MIT"
dependencies = ["rust-base", "cli-kit@^2.1"]
features = ["Basic Rust project structure"]
tags = ["starter", "Hello World", "bad tag!"]
keywords = ["rust"]

[install]
type = "template"

[variables]
project_name = { type = "string", default = "hello-world" }

[marketplace]
production_ready = false
`;

Deno.test("package.toml: ggen's marketplace manifest maps to the package model", () => {
  const m = manifestFromPackageToml(HELLO);
  assert.equal(m.id, "io.ggen.hello-world");
  assert.equal(m.name, "hello-world");
  assert.equal(m.version, "1.0.0");
  assert.deepEqual(m.authors, ["ggen-team"]);
  assert.equal(m.license, "MIT");
  assert.equal(m.category, "starter");
  assert.deepEqual(m.tags, ["starter", "hello-world"], "tags lower-cased, spaces as '-', invalid ones dropped");
  assert.deepEqual(m.keywords, ["rust", "hello-world-starter"], "full_name joins the keywords");
  assert.deepEqual(m.dependencies, { "io.ggen.rust-base": "*", "io.ggen.cli-kit": "^2.1" });
  assert.equal(manifestFromPackageToml(HELLO, "org.example").id, "org.example.hello-world");
});

Deno.test("package.toml: ids, slugs and refusals", () => {
  assert.equal(slugOf("Next.js Ontology-Driven CRUD"), "next-js-ontology-driven-crud");
  assert.equal(idOfName("io.ggen.nextjs.ontology-crud"), "io.ggen.nextjs.ontology-crud", "an id stays as it is");
  assert.equal(idOfName("Next.js Ontology-Driven CRUD"), "io.ggen.next-js-ontology-driven-crud");
  assert.throws(() => idOfName("!!!"), ValidationError);
  assert.throws(() => manifestFromPackageToml("[install]\ntype = 1\n"), /\[package\] is required/);
  assert.throws(() => manifestFromPackageToml('[package]\nname = "x"\nversion = "one"\n'), /semver/);
});
