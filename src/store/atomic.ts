/**
 * Atomic file writes: write a temp file beside the target, fsync, rename.
 * @module
 */
import { dirname, join } from "node:path";

/** A unique temp name beside `target` (same directory, so rename is atomic) */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.tmp-${crypto.randomUUID()}`);
}

/** Write `data` to `path` atomically; readers see the old or the new file, never a part */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    using file = await Deno.open(tmp, { createNew: true, write: true, mode });
    let offset = 0;
    while (offset < bytes.byteLength) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await Deno.rename(tmp, path);
}

/** Remove temp files left by an interrupted write in `dir` (non-recursive) */
export async function removeOrphanTemps(dir: string): Promise<number> {
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".tmp-")) {
        await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
        removed++;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return removed;
}
