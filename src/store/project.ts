/**
 * Installing into a project: `.ggen/packages/<id>/<version>/`. Each package is unpacked into a
 * temp directory, gets the completion marker last, and is renamed into place; the lockfile is
 * written after every package is in place, so a failed or interrupted install leaves the
 * previous state intact.
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import {
  INSTALL_MARKER,
  isValidPackageId,
  isValidVersion,
  LOCKFILE_NAME,
  type Logger,
  MANIFEST_NAME,
  PROJECT_DIR,
  ValidationError,
} from "../core/mod.ts";
import { type ArchiveLimits, unpackArchive } from "../archive/mod.ts";
import { type LockedPackage, type LockedRegistry, type Lockfile, readLockfile, writeLockfile } from "./lockfile.ts";
import { removeOrphanTemps } from "./atomic.ts";
import { compareWithArchive } from "./installed.ts";

/** A package ready to install: its lock entry and its verified blob */
export interface StagedPackage {
  /** The lock entry of the package */
  locked: LockedPackage;
  /** Path of the verified tarball in the cache */
  blobPath: string;
}

/**
 * The project a command in `start` acts on: the nearest directory, `start` or above, holding a
 * ggen.lock or a ggen.toml (like cargo's nearest Cargo.toml); `start` itself when none does.
 */
export function projectRoot(start: string = Deno.cwd()): string {
  for (let dir = resolve(start);; dir = resolve(dir, "..")) {
    for (const name of [LOCKFILE_NAME, MANIFEST_NAME]) {
      try {
        if (Deno.statSync(join(dir, name)).isFile) return dir;
      } catch {
        // not here
      }
    }
    if (resolve(dir, "..") === dir) return resolve(start);
  }
}

/** Paths of a project */
export function projectPaths(projectDir: string): { root: string; packages: string; tmp: string } {
  const root = join(projectDir, PROJECT_DIR);
  return { root, packages: join(root, "packages"), tmp: join(root, "tmp") };
}

/**
 * Directory of one installed version. The id and version are checked before any path is built,
 * and the result is checked to lie under the project's package directory after resolving.
 * @throws {ValidationError} for an id or version that is not one, or a path that escapes
 */
export function packageDir(projectDir: string, id: string, version: string): string {
  if (!isValidPackageId(id)) {
    throw new ValidationError(`Refusing package id ${JSON.stringify(id.slice(0, 80))}: not a reverse-DNS id`);
  }
  if (!isValidVersion(version)) {
    throw new ValidationError(
      `Refusing version ${JSON.stringify(String(version).slice(0, 80))} of "${id}": not semver`,
    );
  }
  const packages = resolve(projectPaths(projectDir).packages);
  const dir = resolve(packages, id, version);
  const rel = relative(packages, dir);
  if (rel === "" || rel.startsWith("..") || rel.startsWith(sep) || rel.split(sep).length !== 2) {
    throw new ValidationError(`Refusing "${id}@${version}": its install path leaves ${packages}`);
  }
  return dir;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** True when a version is installed completely */
export function isInstalled(projectDir: string, id: string, version: string): Promise<boolean> {
  return exists(join(packageDir(projectDir, id, version), INSTALL_MARKER));
}

/**
 * Find what an interrupted install left: temp directories and package directories without the
 * completion marker. Both are removed.
 */
export async function repairProject(projectDir: string, logger: Logger): Promise<number> {
  const paths = projectPaths(projectDir);
  let repaired = await removeOrphanTemps(paths.tmp);
  try {
    for await (const idDir of Deno.readDir(paths.packages)) {
      if (!idDir.isDirectory) continue;
      for await (const vDir of Deno.readDir(join(paths.packages, idDir.name))) {
        const dir = join(paths.packages, idDir.name, vDir.name);
        if (vDir.name.startsWith(".tmp-") || !(await exists(join(dir, INSTALL_MARKER)))) {
          logger.warn(`Removing incomplete install "${idDir.name}@${vDir.name}"`);
          await Deno.remove(dir, { recursive: true });
          repaired++;
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return repaired;
}

/** Options for {@link installIntoProject} */
export interface InstallInit {
  /** Where to log */
  logger: Logger;
  /** Archive limits */
  limits?: ArchiveLimits;
  /** Requirements to record as top-level */
  requires: Record<string, string>;
  /** Replace the whole package set (update) instead of merging into it */
  replace?: boolean;
  /** The registry key to record (kept from the previous lock when absent) */
  registry?: LockedRegistry;
  /** Told what happened to each staged package */
  onPackage?: (locked: LockedPackage, action: InstallAction) => void;
}

/** What an install did to one package */
export type InstallAction = "installed" | "repaired" | "unchanged";

/**
 * Unpack staged packages into the project and write the lockfile last.
 * @returns the new lockfile
 */
export async function installIntoProject(
  projectDir: string,
  staged: StagedPackage[],
  init: InstallInit,
): Promise<Lockfile> {
  const paths = projectPaths(projectDir);
  await repairProject(projectDir, init.logger);
  await Deno.mkdir(paths.tmp, { recursive: true });
  const previous = await readLockfile(projectDir);
  for (const { locked, blobPath } of staged) {
    const target = packageDir(projectDir, locked.id, locked.version);
    let action: InstallAction = "installed";
    if (await isInstalled(projectDir, locked.id, locked.version)) {
      // An installed package is checked against its archive; edited, added or deleted files are put back
      const diffs = await compareWithArchive(target, blobPath);
      if (diffs.length === 0) {
        init.onPackage?.(locked, "unchanged");
        continue;
      }
      init.logger.warn(
        `Repairing ${locked.id}@${locked.version}: ${diffs.length} file${diffs.length === 1 ? "" : "s"} differed ` +
          `(${diffs.slice(0, 3).map((d) => `${d.problem} ${d.path}`).join(", ")}${diffs.length > 3 ? ", …" : ""})`,
      );
      action = "repaired";
    }
    const tmp = join(paths.tmp, `.tmp-${crypto.randomUUID()}`);
    try {
      await unpackArchive({ path: blobPath }, tmp, init.limits);
      // Created exclusively: an archive cannot have planted it (unpack skips the name)
      await Deno.writeTextFile(join(tmp, INSTALL_MARKER), `${locked.sha256}\n`, { createNew: true });
      await Deno.mkdir(join(target, ".."), { recursive: true });
      // The damaged copy goes only once the good one is unpacked beside it
      if (action === "repaired") await Deno.remove(target, { recursive: true });
      await Deno.rename(tmp, target);
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
    init.onPackage?.(locked, action);
  }
  const byId = new Map<string, LockedPackage>();
  if (!init.replace) { for (const p of previous.packages) byId.set(p.id, p); }
  for (const s of staged) byId.set(s.locked.id, s.locked);
  const registry = init.registry ?? previous.registry;
  const next: Lockfile = {
    requires: init.replace ? { ...init.requires } : { ...previous.requires, ...init.requires },
    packages: [...byId.values()],
    ...(registry ? { registry } : {}),
  };
  await writeLockfile(projectDir, next);
  await pruneUnlocked(projectDir, next);
  return next;
}

/** Remove installed versions that the lockfile no longer names */
export async function pruneUnlocked(projectDir: string, lock: Lockfile): Promise<void> {
  const keep = new Set(lock.packages.map((p) => `${p.id}@${p.version}`));
  const { packages } = projectPaths(projectDir);
  try {
    for await (const idDir of Deno.readDir(packages)) {
      const idPath = join(packages, idDir.name);
      for await (const vDir of Deno.readDir(idPath)) {
        if (!keep.has(`${idDir.name}@${vDir.name}`)) await Deno.remove(join(idPath, vDir.name), { recursive: true });
      }
      let empty = true;
      for await (const _ of Deno.readDir(idPath)) {
        empty = false;
        break;
      }
      if (empty) await Deno.remove(idPath);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Drop `id` from the requirements and every package no longer reachable, then prune */
export async function removeFromProject(projectDir: string, id: string): Promise<Lockfile> {
  const lock = await readLockfile(projectDir);
  const requires = { ...lock.requires };
  delete requires[id];
  const byId = new Map(lock.packages.map((p) => [p.id, p]));
  const reachable = new Set<string>();
  const walk = (pid: string) => {
    if (reachable.has(pid)) return;
    reachable.add(pid);
    for (const dep of Object.keys(byId.get(pid)?.dependencies ?? {})) walk(dep);
  };
  for (const r of Object.keys(requires)) walk(r);
  const next: Lockfile = {
    requires,
    packages: lock.packages.filter((p) => reachable.has(p.id)),
    ...(lock.registry ? { registry: lock.registry } : {}),
  };
  await writeLockfile(projectDir, next);
  await pruneUnlocked(projectDir, next);
  return next;
}
