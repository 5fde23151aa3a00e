/**
 * `ggen init [DIR] [--id ID]`: a new package that packs and publishes as it is: a manifest with
 * every required field (checked by the same parser `pack` uses), a README and one template.
 * @module
 */
import { basename, join, resolve as resolvePath } from "node:path";
import { ConflictError, isValidPackageId, MANIFEST_NAME, parseManifest } from "../core/mod.ts";
import type { Context } from "./context.ts";
import { UsageError } from "./usage.ts";

/** Options of `ggen init` */
export interface InitOptions {
  /** Reverse-DNS id; derived from the directory name under io.ggen when absent */
  id?: string;
}

/** The id `ggen init` proposes for a directory: `io.ggen.<name>`, lower-cased, invalid characters dropped */
export function idForDirectory(dir: string): string {
  const name = basename(resolvePath(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return `io.ggen.${name || "package"}`;
}

/** Create a package in `dir` */
export async function initCommand(ctx: Context, dir: string, o: InitOptions = {}): Promise<void> {
  const root = resolvePath(dir);
  const id = o.id ?? idForDirectory(root);
  if (!isValidPackageId(id)) {
    throw new UsageError(
      `"${id}" is not a reverse-DNS package id: pass one with --id, like --id io.example.my-templates`,
    );
  }
  const manifestPath = join(root, MANIFEST_NAME);
  try {
    await Deno.lstat(manifestPath);
    throw new ConflictError(`Refusing to overwrite "${manifestPath}": this directory already holds a package`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const name = id.split(".").at(-1)!;
  const manifest = `[package]
id = "${id}"
name = "${name}"
version = "0.1.0"
description = "Templates for ${name}"
license = "MIT"
tags = []
keywords = []
readme = "README.md"

[dependencies]
`;
  parseManifest(manifest); // what `pack` will check, checked now
  await Deno.mkdir(join(root, "templates"), { recursive: true });
  const files: [string, string][] = [
    ["README.md", `# ${name}\n\nTemplates for ${name}. Install with:\n\n    ggen install ${id}\n`],
    [join("templates", "hello.tmpl"), `Hello from ${id}!\n`],
    [MANIFEST_NAME, manifest], // last: a package exists only once everything it names does
  ];
  const created: string[] = [];
  for (const [file, text] of files) {
    try {
      await Deno.writeTextFile(join(root, file), text, { createNew: true });
      created.push(file);
    } catch (err) {
      // an existing README or template is the user's: kept as it is
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  ctx.out.result(
    { id, dir: root, files: created },
    `Created ${id} in ${root}: ${created.join(", ")}\n` +
      `Next: ggen pack --list ${dir}   (what would be published), then ggen publish ${dir}`,
  );
}
