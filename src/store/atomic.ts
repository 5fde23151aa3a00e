/**
 * Atomic file writes: write a temp file beside the target, fsync, rename; a stream is hashed on
 * the way and renamed into place only when it is the bytes its SHA-256 names. And a file's digest.
 * @module
 */
import { dirname, join } from "node:path";
import { type AbortOptions, createSha256, IntegrityError, TooLargeError } from "../core/mod.ts";

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

/** Options of {@link writeStreamVerified} */
export interface VerifiedWriteOptions extends AbortOptions {
  /** The SHA-256 the bytes must have, hex */
  sha256: string;
  /** Most bytes accepted (the size a signed record declares) */
  size?: number;
  /** Called with the bytes written so far */
  onProgress?(written: number): void;
}

/**
 * Write `body` to `path` atomically, hashing on the way: fsynced and renamed into place only when
 * its SHA-256 is `o.sha256`; otherwise nothing is left behind. Resolves to the bytes written.
 * @throws {TooLargeError} past `o.size` bytes
 * @throws {IntegrityError} for bytes of another digest
 */
export async function writeStreamVerified(
  path: string,
  body: ReadableStream<Uint8Array>,
  o: VerifiedWriteOptions,
): Promise<number> {
  const tmp = tempPathFor(path);
  const hash = await createSha256();
  let written = 0;
  try {
    using file = await Deno.open(tmp, { createNew: true, write: true, mode: 0o644 });
    const reader = body.getReader();
    try {
      while (true) {
        o.signal?.throwIfAborted();
        const { done, value } = await reader.read();
        if (done) break;
        written += value.byteLength;
        if (o.size !== undefined && written > o.size) {
          throw new TooLargeError(`Refusing download of ${o.sha256}: more than the expected ${o.size} bytes`);
        }
        // The write runs on Deno's I/O threads while this thread hashes the same bytes
        const writing = writeAll(file, value);
        hash.update(value);
        await writing;
        o.onProgress?.(written);
      }
    } catch (err) {
      await reader.cancel(err).catch(() => {});
      throw err;
    } finally {
      reader.releaseLock();
    }
    await file.sync();
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  const actual = hash.hex();
  if (actual !== o.sha256) {
    await Deno.remove(tmp).catch(() => {});
    throw new IntegrityError(`Checksum mismatch: expected sha256 ${o.sha256}, got ${actual} (${written} bytes)`);
  }
  await Deno.rename(tmp, path);
  return written;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength;) offset += await file.write(bytes.subarray(offset));
}

/** The SHA-256 of a file's bytes, hex; undefined when it cannot be read */
export async function hashFile(path: string): Promise<string | undefined> {
  try {
    using file = await Deno.open(path, { read: true });
    const h = await createSha256();
    for await (const c of file.readable) h.update(c);
    return h.hex();
  } catch {
    return undefined;
  }
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
