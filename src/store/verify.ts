/**
 * `ggen verify`: compare what is installed with what the lockfile and the store say it is.
 * @module
 */
import { join } from "node:path";
import { createSha256, INSTALL_MARKER } from "../core/mod.ts";
import { readArchive } from "../archive/mod.ts";
import type { PackageCache } from "./cache.ts";
import { readLockfile } from "./lockfile.ts";
import { packageDir } from "./project.ts";

/** One difference found */
export interface Difference {
  /** The package */
  package: string;
  /** File system path */
  path: string;
  /** What is wrong */
  problem: "missing" | "modified" | "extra" | "not-installed" | "incomplete" | "blob-missing" | "blob-corrupt";
}

async function hashFile(path: string): Promise<string | undefined> {
  try {
    using file = await Deno.open(path, { read: true });
    const h = createSha256();
    for await (const c of file.readable) h.update(c);
    return h.hex();
  } catch {
    return undefined;
  }
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

/** Every difference between the project's install, its lockfile and the store */
export async function verifyProject(projectDir: string, cache: PackageCache): Promise<Difference[]> {
  const lock = await readLockfile(projectDir);
  const diffs: Difference[] = [];
  for (const p of lock.packages) {
    const name = `${p.id}@${p.version}`;
    const dir = packageDir(projectDir, p.id, p.version);
    try {
      await Deno.stat(dir);
    } catch {
      diffs.push({ package: name, path: dir, problem: "not-installed" });
      continue;
    }
    if ((await hashFile(join(dir, INSTALL_MARKER))) === undefined) {
      diffs.push({ package: name, path: join(dir, INSTALL_MARKER), problem: "incomplete" });
    }
    if (!(await cache.has(p.sha256))) {
      diffs.push({ package: name, path: p.sha256, problem: "blob-missing" });
      continue;
    }
    const blob = await cache.get(p.sha256);
    if (!blob) {
      diffs.push({ package: name, path: p.sha256, problem: "blob-corrupt" });
      continue;
    }
    const expected = new Map<string, string>();
    await readArchive({ path: blob }, async (entry, body) => {
      const h = createSha256();
      for await (const c of body) h.update(c);
      if (entry.type === "file" && entry.path !== INSTALL_MARKER) expected.set(entry.path, h.hex());
    });
    const present = new Set((await listFiles(dir)).filter((f) => f !== INSTALL_MARKER));
    for (const [path, sha] of expected) {
      if (!present.has(path)) diffs.push({ package: name, path, problem: "missing" });
      else if ((await hashFile(join(dir, path))) !== sha) diffs.push({ package: name, path, problem: "modified" });
      present.delete(path);
    }
    for (const extra of present) diffs.push({ package: name, path: extra, problem: "extra" });
  }
  return diffs;
}
