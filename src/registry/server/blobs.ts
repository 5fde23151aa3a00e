/**
 * Blobs on disk under `<data>/blobs/<hex>`, written atomically.
 * @module
 */
import { join } from "node:path";
import { assertSha256Hex } from "../../core/mod.ts";
import { removeOrphanTemps, writeFileAtomic } from "../../store/mod.ts";
import type { BlobStore } from "./storage.ts";

/** Bytes of `file` in 1 MiB chunks, at most `length`: fewer, larger writes than `file.readable` */
function chunked(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(Math.min(1024 * 1024, left));
      const n = buf.byteLength === 0 ? null : await file.read(buf);
      if (n === null) {
        file.close();
        controller.close();
        return;
      }
      left -= n;
      controller.enqueue(buf.subarray(0, n));
    },
    cancel() {
      file.close();
    },
  });
}

/** Open the file-system blob store under `dir` */
export async function createFsBlobStore(dir: string): Promise<BlobStore> {
  await Deno.mkdir(dir, { recursive: true });
  await removeOrphanTemps(dir);
  const path = (sha256: string) => {
    assertSha256Hex(sha256);
    return join(dir, sha256);
  };
  return {
    async put(sha256, bytes) {
      await writeFileAtomic(path(sha256), bytes);
    },
    async open(sha256, range) {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path(sha256), { read: true });
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return undefined;
        throw err;
      }
      if (!range) return chunked(file, Infinity);
      await file.seek(range.start, Deno.SeekMode.Start);
      return chunked(file, range.end - range.start + 1);
    },
    async check() {
      // A directory the server can write to: a probe file written and removed
      const probe = join(dir, `.ready-${crypto.randomUUID()}`);
      await Deno.writeFile(probe, new Uint8Array());
      await Deno.remove(probe);
    },
    async size(sha256) {
      try {
        return (await Deno.stat(path(sha256))).size;
      } catch {
        return undefined;
      }
    },
    async delete(sha256) {
      await Deno.remove(path(sha256)).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    },
    async list() {
      const out: string[] = [];
      for await (const e of Deno.readDir(dir)) if (/^[0-9a-f]{64}$/.test(e.name)) out.push(e.name);
      return out;
    },
  };
}
