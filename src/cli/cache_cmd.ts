/**
 * `ggen cache verify|clean|dir`: the content-addressed blob cache and the metadata cache under
 * `$GGEN_HOME`, as `npm cache verify|clean` and `cargo cache` users expect.
 * @module
 */
import { join } from "node:path";
import type { Context } from "./context.ts";

/** Every file of `dir` with its size (none when the directory does not exist) */
async function filesOf(dir: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const { size } = await Deno.stat(join(dir, e.name));
      out.push({ name: e.name, size });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** `ggen cache verify`: re-hash every blob, evict the corrupt ones */
export async function cacheVerifyCommand(ctx: Context): Promise<void> {
  const digests = await ctx.cache.list();
  const progress = ctx.out.progress("verifying", digests.length);
  const corrupt: string[] = [];
  let bytes = 0;
  for (const [i, sha256] of digests.entries()) {
    ctx.signal.throwIfAborted();
    const path = await ctx.cache.get(sha256, { signal: ctx.signal });
    if (path === undefined) corrupt.push(sha256);
    else bytes += (await Deno.stat(path)).size;
    progress.update(i + 1);
  }
  progress.done();
  ctx.out.result(
    { verified: digests.length - corrupt.length, evicted: corrupt, bytes, dir: ctx.cache.dir },
    corrupt.length
      ? `${digests.length - corrupt.length} blobs verified; ${corrupt.length} corrupt evicted (they are fetched ` +
        `again when needed): ${corrupt.join(", ")}`
      : `All ${digests.length} blobs verified (${bytes} bytes in ${ctx.cache.dir})`,
  );
}

/** `ggen cache clean`: remove every cached blob and metadata document (`ggen install` fetches a project's again) */
export async function cacheCleanCommand(ctx: Context): Promise<void> {
  const metadataDir = join(ctx.config.home, "metadata");
  let files = 0;
  let bytes = 0;
  for (const dir of [ctx.cache.dir, metadataDir]) {
    for (const f of await filesOf(dir)) {
      await Deno.remove(join(dir, f.name)).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
      files++;
      bytes += f.size;
    }
  }
  ctx.out.result(
    { removed_files: files, freed_bytes: bytes, dirs: [ctx.cache.dir, metadataDir] },
    `Removed ${files} files (${bytes} bytes) from ${ctx.cache.dir} and ${metadataDir}`,
  );
}

/** `ggen cache dir`: where the cache lives */
export function cacheDirCommand(ctx: Context): void {
  ctx.out.result({ dir: ctx.cache.dir }, ctx.cache.dir);
}
