/**
 * Deterministic packing: sorted entries, fixed mtime, uid, gid and mode bits, gzip without a
 * timestamp. The same files always give the same bytes, so the SHA-256 is a content address.
 * @module
 */
import { gzipSync } from "node:zlib";
import { join, relative, sep as SEPARATOR } from "node:path";
import tar from "tar-stream";
import { type FileSelector, fileSelector, IGNORE_FILE } from "./select.ts";
import {
  concatBytes,
  type Manifest,
  MANIFEST_NAME,
  PACK_MTIME,
  parseManifest,
  sha256Hex,
  ValidationError,
} from "../core/mod.ts";

/** A packed package */
export interface PackedPackage {
  /** The validated manifest */
  manifest: Manifest;
  /** The bytes */
  bytes: Uint8Array;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Size in bytes */
  size: number;
  /** Every packed file with its size, sorted */
  files: { path: string; size: number }[];
  /** Packed files that look like secrets (`.env`, keys): shown before publishing */
  warnings: string[];
}

interface FileEntry {
  path: string;
  kind: "file" | "directory";
  executable: boolean;
  abs: string;
}

async function walk(root: string, dir: string, out: FileEntry[], select: FileSelector): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const abs = join(dir, entry.name);
    const path = relative(root, abs).split(SEPARATOR).join("/");
    if (!select.packs(entry.isDirectory ? `${path}/` : path)) continue;
    if (entry.isSymlink) {
      throw new ValidationError(`Cannot pack "${path}": symbolic links are not allowed in packages`);
    }
    if (entry.isDirectory) {
      out.push({ path, kind: "directory", executable: false, abs });
      await walk(root, abs, out, select);
    } else if (entry.isFile) {
      const info = await Deno.stat(abs);
      out.push({ path, kind: "file", executable: ((info.mode ?? 0) & 0o111) !== 0, abs });
    } else {
      throw new ValidationError(`Cannot pack "${path}": only regular files and directories are allowed`);
    }
  }
}

/** Turn a tar-stream pack into one buffer */
async function collect(pack: tar.Pack): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return concatBytes(chunks);
}

/**
 * Pack the package directory `dir` (which must hold a valid `ggen.toml`).
 * @throws {ValidationError} for an invalid manifest or a file type packages may not hold
 */
export async function packDirectory(dir: string): Promise<PackedPackage> {
  let source: string;
  try {
    source = await Deno.readTextFile(join(dir, MANIFEST_NAME));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ValidationError(`Cannot pack "${dir}": no ${MANIFEST_NAME} found`);
    }
    throw err;
  }
  const manifest = parseManifest(source);
  const select = await fileSelector(dir, manifest.include);
  const entries: FileEntry[] = [];
  await walk(dir, dir, entries, select);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const pack = tar.pack();
  const done = collect(pack);
  for (const e of entries) {
    const header = {
      name: e.path,
      mtime: PACK_MTIME,
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
    };
    if (e.kind === "directory") {
      pack.entry({ ...header, type: "directory", mode: 0o755 });
    } else {
      const body = await Deno.readFile(e.abs);
      await new Promise<void>((resolve, reject) =>
        pack.entry({ ...header, type: "file", mode: e.executable ? 0o755 : 0o644, size: body.byteLength }, body, (
          err,
        ) => err ? reject(err) : resolve())
      );
    }
  }
  pack.finalize();
  const tarBytes = await done;
  // node:zlib writes a zero mtime and a fixed OS byte, so the gzip wrapper is deterministic too
  const bytes = new Uint8Array(gzipSync(tarBytes, { level: 9 }));
  const files = await Promise.all(
    entries.filter((e) => e.kind === "file").map(async (e) => ({ path: e.path, size: (await Deno.stat(e.abs)).size })),
  );
  const warnings = files.filter((f) => select.looksSecret(f.path)).map((f) =>
    `"${f.path}" looks like a secret and will be published; add it to ${IGNORE_FILE} unless that is intended`
  );
  return { manifest, bytes, sha256: sha256Hex(bytes), size: bytes.byteLength, files, warnings };
}
