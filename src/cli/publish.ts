/**
 * `ggen pack`, `ggen publish`, `ggen yank`.
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { packDirectory } from "../archive/mod.ts";
import { ValidationError } from "../core/errors.ts";
import { versionFromManifest } from "../core/package.ts";
import type { Context } from "./context.ts";

/** `ggen pack [DIR]`: writes `<id>-<version>.tar.gz` and prints its sha256 */
export async function packCommand(ctx: Context, dir: string, opts: { out?: string }): Promise<void> {
  const packed = await packDirectory(dir);
  const file = opts.out ?? `${packed.manifest.id}-${packed.manifest.version}.tar.gz`;
  await Deno.writeFile(file, packed.bytes);
  ctx.out.result(
    { id: packed.manifest.id, version: packed.manifest.version, sha256: packed.sha256, size: packed.size, file },
    `${file}  sha256:${packed.sha256}  ${packed.size} B`,
  );
}

/** `ggen publish [DIR]` to the central registry */
export async function publishCommand(ctx: Context, dir: string): Promise<void> {
  const packed = await packDirectory(resolvePath(dir));
  const version = versionFromManifest(packed.manifest, packed);
  const bar = ctx.out.progress(`Uploading ${version.id}@${version.version}`, packed.size);
  bar.update(0);
  const published = await ctx.central().publish(packed.bytes, version, { signal: ctx.signal });
  bar.done();
  await ctx.cache.put(ReadableStream.from([packed.bytes]), packed.sha256, { signal: ctx.signal });
  ctx.out.result(published, `Published ${published.id}@${published.version} (sha256:${published.sha256})`);
}

/** `ggen yank ID@VERSION [--undo]` */
export async function yankCommand(ctx: Context, spec: string, opts: { undo?: boolean }): Promise<void> {
  const at = spec.lastIndexOf("@");
  if (at <= 0) throw new ValidationError(`Cannot yank "${spec}": give ID@VERSION`);
  const id = spec.slice(0, at);
  const version = spec.slice(at + 1);
  await ctx.central().setYanked(id, version, !opts.undo, { signal: ctx.signal });
  ctx.out.result({ id, version, yanked: !opts.undo }, `${opts.undo ? "Unyanked" : "Yanked"} ${id}@${version}`);
}
