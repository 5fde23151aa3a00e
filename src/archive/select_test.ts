import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "./mod.ts";

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
}

const MANIFEST = (extra = "") =>
  `[package]\nid = "io.sel.pkg"\nname = "Sel"\nversion = "1.0.0"\ndescription = "selection"\n${extra}`;

Deno.test("pack: secrets, VCS data, dependencies and a registry's data stay out; .ggenignore adds and restores", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await write(dir, {
      "ggen.toml": MANIFEST(),
      "templates/app.tmpl": "x",
      "templates/skip.txt": "x",
      ".env": "TOKEN=1",
      ".env.production": "TOKEN=2",
      "deploy.key": "k",
      "keep.key": "k",
      "node_modules/dep/index.js": "x",
      ".git/config": "x",
      "registry.db": "x",
      "blobs/aa": "x",
      "dist/out.js": "x",
      ".ggenignore": "templates/skip.txt\n!keep.key\n",
    });
    const packed = await packDirectory(dir);
    assert.deepEqual(packed.files.map((f) => f.path), [".ggenignore", "ggen.toml", "keep.key", "templates/app.tmpl"]);
    assert.equal(packed.warnings.length, 1, "a key brought back on purpose is still reported");
    assert.match(packed.warnings[0]!, /"keep\.key" looks like a secret/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pack: the manifest's include list keeps only what it names (and the manifest)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await write(dir, {
      "ggen.toml": MANIFEST('include = ["templates/", "README.md"]\n'),
      "templates/a.tmpl": "x",
      "README.md": "# sel",
      "notes.txt": "x",
      "scratch/tmp.txt": "x",
    });
    const packed = await packDirectory(dir);
    assert.deepEqual(packed.files.map((f) => f.path), ["README.md", "ggen.toml", "templates/a.tmpl"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
