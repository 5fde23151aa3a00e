/**
 * The content-addressed cache `$GGEN_HOME/cache/sha256/<hex>`. Writes hash while writing to a
 * temp file, fsync, compare, rename; reads are verified and a corrupt entry is evicted.
 * @module
 */
import { join } from "node:path";
import { type AbortOptions, assertSha256Hex, createSha256, type Logger, TooLargeError } from "../core/mod.ts";
import { removeOrphanTemps, type VerifiedWriteOptions, writeStreamVerified } from "./atomic.ts";

/** Free space a download must leave on the cache's disk */
const SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

/** Options for {@link PackageCache.put} */
export type PutOptions = Omit<VerifiedWriteOptions, "sha256">;

/** The content-addressed blob cache */
export interface PackageCache {
  /** Directory */
  readonly dir: string;
  /** Path of a blob if present and verified; a corrupt blob is evicted and `undefined` returned */
  get(sha256: string, options?: AbortOptions): Promise<string | undefined>;
  /** True when a blob file exists (not verified) */
  has(sha256: string): Promise<boolean>;
  /**
   * Store a stream under its digest.
   * @throws {IntegrityError} when the bytes do not hash to `sha256`; nothing is kept
   */
  put(body: ReadableStream<Uint8Array>, sha256: string, options?: PutOptions): Promise<string>;
  /** Every stored digest */
  list(): Promise<string[]>;
  /** Remove a blob */
  evict(sha256: string): Promise<void>;
}

/** Collaborators of the cache */
export interface PackageCacheComponents {
  /** Where to log */
  logger: Logger;
}

/** Open the cache under `home` (`$GGEN_HOME`) */
export function createPackageCache(components: PackageCacheComponents, init: { home: string }): PackageCache {
  return new FsPackageCache(components, join(init.home, "cache", "sha256"));
}

class FsPackageCache implements PackageCache {
  readonly dir: string;
  #log: Logger;
  #cleaned = false;

  constructor(components: PackageCacheComponents, dir: string) {
    this.dir = dir;
    this.#log = components.logger.child("store");
  }

  #path(sha256: string): string {
    assertSha256Hex(sha256);
    return join(this.dir, sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.#path(sha256))).isFile;
    } catch {
      return false;
    }
  }

  async get(sha256: string, options: AbortOptions = {}): Promise<string | undefined> {
    const path = this.#path(sha256);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    const hash = await createSha256();
    try {
      for await (const chunk of file.readable) {
        options.signal?.throwIfAborted();
        hash.update(chunk);
      }
    } finally {
      try {
        file.close();
      } catch { /* readable closed it */ }
    }
    if (hash.hex() !== sha256) {
      this.#log.warn(`Evicting corrupt cache entry ${sha256}`);
      await this.evict(sha256);
      return undefined;
    }
    return path;
  }

  async put(body: ReadableStream<Uint8Array>, sha256: string, options: PutOptions = {}): Promise<string> {
    const path = this.#path(sha256);
    await Deno.mkdir(this.dir, { recursive: true });
    if (options.size !== undefined) await this.#checkSpace(sha256, options.size);
    if (!this.#cleaned) {
      this.#cleaned = true;
      await removeOrphanTemps(this.dir);
    }
    const written = await writeStreamVerified(path, body, { ...options, sha256 });
    this.#log.debug(`stored ${sha256} (${written} bytes)`);
    return path;
  }

  /** A declared size that does not fit on the disk is refused before the first byte */
  async #checkSpace(sha256: string, size: number): Promise<void> {
    let free: number;
    try {
      // Loaded here: a command that downloads nothing never loads Deno's Node.js layer for it
      const { statfs } = await import("node:fs/promises");
      const fs = await statfs(this.dir);
      free = fs.bavail * fs.bsize;
    } catch {
      return; // no figure to check against: the write itself will fail cleanly
    }
    if (size + SPACE_MARGIN_BYTES > free) {
      throw new TooLargeError(
        `Not enough disk space for ${sha256}: it is ${size} bytes and ${this.dir} has ${free} bytes free ` +
          `(a ${SPACE_MARGIN_BYTES}-byte margin is kept). Free some space, or point GGEN_HOME at a larger disk`,
      );
    }
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) if (e.isFile && /^[0-9a-f]{64}$/.test(e.name)) out.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort();
  }

  async evict(sha256: string): Promise<void> {
    await Deno.remove(this.#path(sha256)).catch(() => {});
  }
}
