import assert from "node:assert/strict";
import { ValidationError } from "./errors.ts";
import { parseManifest } from "./manifest.ts";

const VALID = `[package]
id = "io.ggen.rust.cli"
name = "Rust CLI"
version = "1.2.3"
description = "A CLI"
authors = ["a"]
license = "MIT"
tags = ["rust"]
keywords = ["cli"]
category = "templates"
readme = "README.md"

[dependencies]
"io.ggen.rust.lib" = "^0.3"
`;

Deno.test("parseManifest() accepts a complete manifest", () => {
  const m = parseManifest(VALID);
  assert.equal(m.id, "io.ggen.rust.cli");
  assert.equal(m.version, "1.2.3");
  assert.deepEqual(m.dependencies, { "io.ggen.rust.lib": "^0.3" });
  assert.deepEqual(m.tags, ["rust"]);
});

Deno.test("parseManifest() names the field and reason of each error", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["missing id", VALID.replace('id = "io.ggen.rust.cli"\n', ""), /"package.id": is required/],
    ["bad id", VALID.replace("io.ggen.rust.cli", "Not An Id"), /"package.id".*reverse-DNS/],
    ["bad version", VALID.replace("1.2.3", "1.2"), /"package.version".*semver/],
    ["v-prefixed version", VALID.replace("1.2.3", "v1.2.3"), /"package.version"/],
    ["empty name", VALID.replace('"Rust CLI"', '""'), /"package.name": must not be empty/],
    ["tags not array", VALID.replace('["rust"]', '"rust"'), /"package.tags": must be an array/],
    ["bad tag", VALID.replace('["rust"]', '["Rust Lang"]'), /"package.tags\[0\]"/],
    ["bad range", VALID.replace('"^0.3"', '"not a range"'), /"dependencies.io.ggen.rust.lib".*semver range/],
    ["bad dep id", VALID.replace('"io.ggen.rust.lib"', '"BAD"'), /"dependencies.BAD"/],
    ["self dependency", VALID.replace('"io.ggen.rust.lib"', '"io.ggen.rust.cli"'), /depend on itself/],
    [
      "unknown field",
      VALID.replace("[dependencies]", 'color = "red"\n[dependencies]'),
      /"package.color": is not a known field; known fields: id, name/,
    ],
    [
      "misspelt field",
      VALID.replace("[dependencies]", 'licence = "MIT"\n[dependencies]'),
      /"package.licence": is not a known field \(did you mean "license"\?\)/,
    ],
    ["unknown section", VALID + "\n[extra]\nx = 1\n", /"extra": is not a known section/],
    ["escaping readme", VALID.replace('"README.md"', '"../secret"'), /"package.readme"/],
    ["not toml", "[package\nid=", /Cannot parse ggen.toml/],
    ["no package", "[dependencies]\n", /"package"/],
  ];
  for (const [name, source, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseManifest(source), (err: Error) => {
        assert.ok(err instanceof ValidationError, `${name}: ${err}`);
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
});
