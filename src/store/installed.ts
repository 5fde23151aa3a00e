/**
 * What an installed package directory holds compared with the archive it came from: the one
 * check behind `ggen verify` and the repair `ggen install` does over a tampered package.
 * @module
 */
import { join } from "node:path";
import { createSha256, INSTALL_MARKER } from "../core/mod.ts";
import { readArchive } from "../archive/mod.ts";
import { hashFile } from "./atomic.ts";

/** A file that differs from the archive */
export interface FileDifference {
  /** Path inside the package directory */
  path: string;
  /** How it differs */
  problem: "missing" | "modified" | "extra";
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** Every file of `dir` that is missing, modified or extra compared with the archive at `blobPath` */
export async function compareWithArchive(dir: string, blobPath: string): Promise<FileDifference[]> {
  const expected = new Map<string, string>();
  await readArchive({ path: blobPath }, async (entry, body) => {
    const h = await createSha256();
    for await (const c of body) h.update(c);
    if (entry.type === "file" && entry.path !== INSTALL_MARKER) expected.set(entry.path, h.hex());
  });
  const present = new Set((await listFiles(dir)).filter((f) => f !== INSTALL_MARKER));
  const diffs: FileDifference[] = [];
  for (const [path, sha] of expected) {
    if (!present.has(path)) diffs.push({ path, problem: "missing" });
    else if ((await hashFile(join(dir, path))) !== sha) diffs.push({ path, problem: "modified" });
    present.delete(path);
  }
  for (const path of present) diffs.push({ path, problem: "extra" });
  return diffs;
}

/** True when the file exists and can be read */
export async function isReadable(path: string): Promise<boolean> {
  return (await hashFile(path)) !== undefined;
}
