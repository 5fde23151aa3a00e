/**
 * `ggen verify`: compare what is installed with what the lockfile and the store say it is.
 * @module
 */
import { join } from "node:path";
import { INSTALL_MARKER } from "../core/mod.ts";
import { compareWithArchive, isReadable } from "./installed.ts";
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
    if (!(await isReadable(join(dir, INSTALL_MARKER)))) {
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
    for (const d of await compareWithArchive(dir, blob)) diffs.push({ package: name, ...d });
  }
  return diffs;
}
