/**
 * Reading untrusted archives. Every entry is checked before anything is written: only regular
 * files and directories, no absolute or drive paths, no `..`, no backslashes, no NUL, no
 * duplicates (also after case folding and NFC), bounded depth, path length, entry count and
 * inflated size. Files are created exclusively under a fresh target, so nothing is written
 * outside it (the lessons of node-tar CVE-2021-32803/32804/37701/37712/37713, 2024-28863).
 * @module
 */
import type { Transform } from "node:stream";
import { dirname, join } from "node:path";
import type tar from "tar-stream";
import {
  concatBytes,
  INSTALL_MARKER,
  type Manifest,
  MANIFEST_NAME,
  parseManifest,
  TooLargeError,
  ValidationError,
} from "../core/mod.ts";
import { type ArchiveLimits, resolveLimits } from "./limits.ts";

/** A validated archive entry */
export interface ArchiveEntry {
  /** Normalised relative path, `/`-separated */
  path: string;
  /** Discriminator of the statement, record or message */
  type: "file" | "directory";
  /** Size in bytes */
  size: number;
  /** True for files packed with mode 0755 */
  executable: boolean;
}

/** Where an archive comes from: bytes in memory or a file path */
export type ArchiveSource = Uint8Array | { path: string };

/**
 * Node's streams, gzip and tar-stream, loaded by the first archive read: a command that reads no
 * archive (`search`, `info` of a cached version) never loads Deno's Node.js layer for them
 */
async function streamModules() {
  const [fs, stream, streams, zlib, tarStream] = await Promise.all([
    import("node:fs"),
    import("node:stream"),
    import("node:stream/promises"),
    import("node:zlib"),
    import("tar-stream"),
  ]);
  return {
    createReadStream: fs.createReadStream,
    Readable: stream.Readable,
    Transform: stream.Transform,
    pipeline: streams.pipeline,
    createGunzip: zlib.createGunzip,
    tar: tarStream.default,
  };
}

/** A stream that counts inflated bytes and fails once past `limit` */
function inflateLimit(Stream: typeof Transform, limit: number): Transform {
  let seen = 0;
  return new Stream({
    transform(chunk: Uint8Array, _enc, cb) {
      seen += chunk.byteLength;
      if (seen > limit) {
        cb(new TooLargeError(`Archive expands past the limit of ${limit} bytes (stopped after inflating ${seen})`));
        return;
      }
      cb(null, chunk);
    },
  });
}

/** Check one entry name; returns the normalised path */
export function checkEntryPath(name: string, limits: Required<ArchiveLimits>): string {
  const show = JSON.stringify(name.slice(0, 80));
  if (name.includes("\0")) throw new ValidationError(`Refusing archive entry ${show}: NUL in path`);
  if (name.includes("\\")) throw new ValidationError(`Refusing archive entry ${show}: backslash in path`);
  if (name.startsWith("/")) throw new ValidationError(`Refusing archive entry ${show}: absolute path`);
  if (/^[a-zA-Z]:/.test(name)) throw new ValidationError(`Refusing archive entry ${show}: drive-relative path`);
  if (name.length > limits.maxPathLength) {
    throw new ValidationError(`Refusing archive entry ${show}: path longer than ${limits.maxPathLength}`);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ValidationError(`Refusing archive entry ${show}: ".." in path`);
  if (parts.length === 0) throw new ValidationError(`Refusing archive entry ${show}: empty path`);
  if (parts.length > limits.maxDepth) {
    throw new ValidationError(`Refusing archive entry ${show}: deeper than ${limits.maxDepth} levels`);
  }
  return parts.join("/");
}

/**
 * Stream every entry of a `.tar.gz`, validated, to `onEntry`, which must consume `body`.
 * @throws {ValidationError} on the first entry that breaks a rule
 * @throws {TooLargeError} when the archive expands past a limit
 */
export async function readArchive(
  source: ArchiveSource,
  onEntry: (entry: ArchiveEntry, body: AsyncIterable<Uint8Array>) => Promise<void>,
  limitsInit: ArchiveLimits = {},
): Promise<void> {
  const limits = resolveLimits(limitsInit);
  const { createReadStream, Readable, Transform, pipeline, createGunzip, tar } = await streamModules();
  const input = source instanceof Uint8Array ? Readable.from([source]) : createReadStream(source.path);
  // The inflated stream (content, tar headers, padding) may not exceed the unpacked limit
  const counter = inflateLimit(Transform, limits.maxUnpackedBytes);
  const extract = tar.extract();
  const piping = pipeline(input, createGunzip(), counter, extract);
  let pipeError: unknown;
  piping.catch((err) => {
    pipeError = err;
  });
  const seen = new Set<string>();
  let entries = 0;
  let total = 0;
  try {
    for await (const item of extract as unknown as AsyncIterable<{ header: tar.Header; resume(): void }>) {
      const header = item.header;
      if (++entries > limits.maxEntries) {
        throw new TooLargeError(`Refusing archive: more than ${limits.maxEntries} entries`);
      }
      const path = checkEntryPath(header.name, limits);
      const type = header.type;
      if (type !== "file" && type !== "directory") {
        throw new ValidationError(
          `Refusing archive entry ${JSON.stringify(path)}: type "${type}" is not allowed (only files and directories)`,
        );
      }
      const key = path.normalize("NFC").toLowerCase();
      if (seen.has(key)) {
        throw new ValidationError(
          `Refusing archive entry ${JSON.stringify(path)}: duplicate path (case-insensitive or Unicode-equivalent)`,
        );
      }
      seen.add(key);
      const size = header.size ?? 0;
      // tar-stream decodes a negative base-256 size of -1 as -0: refuse every negative sign
      if (size < 0 || Object.is(size, -0) || !Number.isSafeInteger(size)) {
        throw new ValidationError(`Refusing archive entry ${JSON.stringify(path)}: invalid size`);
      }
      total += size;
      if (total > limits.maxUnpackedBytes) {
        throw new TooLargeError(`Refusing archive: unpacked size exceeds ${limits.maxUnpackedBytes} bytes`);
      }
      await onEntry(
        { path, type, size, executable: ((header.mode ?? 0) & 0o111) !== 0 },
        item as unknown as AsyncIterable<Uint8Array>,
      );
      item.resume();
    }
    await piping;
  } catch (err) {
    input.destroy();
    extract.destroy();
    await piping.catch(() => {});
    if (err instanceof ValidationError || err instanceof TooLargeError) throw err;
    throw wrapArchiveError(pipeError ?? err);
  }
}

function wrapArchiveError(err: unknown): Error {
  if (err instanceof ValidationError || err instanceof TooLargeError) return err;
  return new ValidationError(`Cannot read archive: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Result of {@link unpackArchive} */
export interface UnpackResult {
  /** Files in the archive */
  files: number;
  /** The bytes */
  bytes: number;
}

/**
 * Unpack into `target`, which must not exist yet (it is created). Nothing is written outside
 * it. An install marker inside the archive is ignored: only the installer writes one.
 */
export async function unpackArchive(
  source: ArchiveSource,
  target: string,
  limits: ArchiveLimits = {},
): Promise<UnpackResult> {
  await Deno.mkdir(target, { recursive: false });
  let files = 0;
  let bytes = 0;
  await readArchive(source, async (entry, body) => {
    if (entry.path === INSTALL_MARKER) {
      for await (const _ of body) { /* drain */ }
      return;
    }
    const abs = join(target, entry.path);
    if (entry.type === "directory") {
      await Deno.mkdir(abs, { recursive: true });
      return;
    }
    await Deno.mkdir(dirname(abs), { recursive: true });
    // createNew = O_EXCL: never follows an existing link, never overwrites
    using file = await Deno.open(abs, { createNew: true, write: true, mode: entry.executable ? 0o755 : 0o644 });
    let written = 0;
    for await (const chunk of body) {
      written += chunk.byteLength;
      if (written > entry.size) {
        throw new ValidationError(`Refusing archive entry "${entry.path}": body longer than header`);
      }
      let offset = 0;
      while (offset < chunk.byteLength) offset += await file.write(chunk.subarray(offset));
    }
    files++;
    bytes += written;
  }, limits);
  return { files, bytes };
}

/**
 * Read and validate the `ggen.toml` at the root of an archive, checking every entry on the way.
 * @throws {ValidationError} when it is missing or invalid
 */
export async function readManifestFromArchive(
  source: ArchiveSource,
  limits: ArchiveLimits = {},
): Promise<{ manifest: Manifest; entries: ArchiveEntry[] }> {
  let text: string | undefined;
  const entries: ArchiveEntry[] = [];
  await readArchive(source, async (entry, body) => {
    entries.push(entry);
    if (entry.path === INSTALL_MARKER) {
      throw new ValidationError(`Refusing archive: it contains the install marker "${INSTALL_MARKER}"`);
    }
    if (entry.path === MANIFEST_NAME && entry.type === "file") {
      if (entry.size > 64 * 1024) throw new ValidationError(`Refusing archive: ${MANIFEST_NAME} is over 64 KiB`);
      const chunks: Uint8Array[] = [];
      for await (const c of body) chunks.push(c);
      text = new TextDecoder().decode(concatBytes(chunks));
      return;
    }
    for await (const _ of body) { /* drain */ }
  }, limits);
  if (text === undefined) throw new ValidationError(`Refusing archive: no ${MANIFEST_NAME} at its root`);
  return { manifest: parseManifest(text), entries };
}

/**
 * The text of the first root file `pick` accepts (a README for the registry's package page), or
 * undefined when there is none; a file over `maxBytes` is cut there (`truncated`), never kept whole.
 */
export async function readRootText(
  source: ArchiveSource,
  pick: (path: string) => boolean,
  maxBytes: number,
  limits: ArchiveLimits = {},
): Promise<{ path: string; text: string; truncated: boolean } | undefined> {
  let found: { path: string; text: string; truncated: boolean } | undefined;
  await readArchive(source, async (entry, body) => {
    if (!found && entry.type === "file" && !entry.path.includes("/") && pick(entry.path)) {
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const c of body) {
        if (size < maxBytes) chunks.push(c.subarray(0, maxBytes - size));
        size += c.byteLength;
      }
      found = { path: entry.path, text: new TextDecoder().decode(concatBytes(chunks)), truncated: size > maxBytes };
      return;
    }
    for await (const _ of body) { /* drain */ }
  }, limits);
  return found;
}
