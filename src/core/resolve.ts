/**
 * Semver resolution across dependencies: highest matching non-yanked version for each id,
 * re-selected when a later constraint narrows it; conflicts name who asked for what.
 * @module
 */
import * as semver from "semver";
import { ConflictError, NotFoundError, ValidationError } from "./errors.ts";
import type { PackageInfo, PackageVersion } from "./package.ts";
import type { AbortOptions } from "./registry.ts";

/** One top-level request */
export interface Requirement {
  /** Reverse-DNS package id */
  id: string;
  /** Semver range */
  range: string;
}

interface Constraint {
  range: string;
  /** "the command line" or "io.x@1.0.0" */
  by: string;
}

/** Choose the highest non-yanked version satisfying every range; `locked` wins when it fits */
export function selectVersion(
  info: PackageInfo,
  ranges: string[],
  locked?: string,
): PackageVersion | undefined {
  const fits = (v: PackageVersion) =>
    !v.yanked && ranges.every((r) => semver.satisfies(v.version, r, { includePrerelease: false }));
  if (locked) {
    const lockedVersion = info.versions.find((v) => v.version === locked);
    // A locked version stays installable even when yanked, like cargo
    if (lockedVersion && ranges.every((r) => semver.satisfies(lockedVersion.version, r))) {
      return lockedVersion;
    }
  }
  const candidates = info.versions.filter(fits);
  candidates.sort((a, b) => semver.rcompare(a.version, b.version));
  return candidates[0];
}

/** Options for {@link resolve} */
export interface ResolveOptions extends AbortOptions {
  /** id → version currently locked; kept when it still satisfies */
  locked?: Map<string, string>;
  /** ids whose lock is ignored (being updated) */
  unlock?: Set<string> | "all";
  /**
   * Called for each chosen version before its dependencies are followed, so a dependency list
   * nobody signed is never walked (and never fetched)
   */
  check?: (v: PackageVersion) => Promise<void>;
}

/** Upper bound on re-selection passes: each pass adds a package or narrows one */
const MAX_RESOLVE_STEPS = 10_000;

/**
 * Resolve requirements and their dependencies to one version per id.
 * @throws {NotFoundError} for an unknown id or a range nothing satisfies
 * @throws {ConflictError} when two requirers' ranges cannot both be met
 */
export async function resolve(
  requirements: Requirement[],
  info: (id: string, o: AbortOptions) => Promise<PackageInfo>,
  options: ResolveOptions = {},
): Promise<PackageVersion[]> {
  const constraints = new Map<string, Constraint[]>();
  const infos = new Map<string, PackageInfo>();
  const selected = new Map<string, PackageVersion>();
  const queue: string[] = [];
  const add = (id: string, c: Constraint) => {
    if (semver.validRange(c.range) === null) {
      throw new ValidationError(`Cannot resolve "${id}@${c.range}": not a semver range`);
    }
    const list = constraints.get(id) ?? [];
    list.push(c);
    constraints.set(id, list);
    queue.push(id);
  };
  for (const r of requirements) add(r.id, { range: r.range, by: "the command line" });
  let steps = 0;
  while (queue.length > 0) {
    if (++steps > MAX_RESOLVE_STEPS) throw new ConflictError("Cannot resolve dependencies: too many steps");
    options.signal?.throwIfAborted();
    const id = queue.shift()!;
    let pkg = infos.get(id);
    if (!pkg) {
      pkg = await info(id, options);
      infos.set(id, pkg);
    }
    const list = constraints.get(id)!;
    const current = selected.get(id);
    if (current && list.every((c) => semver.satisfies(current.version, c.range))) continue;
    const unlocked = options.unlock === "all" || options.unlock?.has(id);
    const chosen = selectVersion(pkg, list.map((c) => c.range), unlocked ? undefined : options.locked?.get(id));
    if (!chosen) {
      if (list.length === 1) {
        const available = pkg.versions.filter((v) => !v.yanked).map((v) => v.version).join(", ") || "none";
        throw new NotFoundError(
          `Cannot install "${id}@${list[0]!.range}": no non-yanked version matches (available: ${available})`,
        );
      }
      const detail = list.map((c) => `${c.by} requires "${c.range}"`).join("; ");
      throw new ConflictError(`Cannot resolve "${id}": the ranges conflict: ${detail}`);
    }
    await options.check?.(chosen);
    selected.set(id, chosen);
    for (const [dep, range] of Object.entries(chosen.dependencies)) {
      add(dep, { range, by: `${id}@${chosen.version}` });
    }
  }
  // Drop packages only required by versions that were later replaced
  const reachable = new Set<string>();
  const walk = (id: string) => {
    if (reachable.has(id)) return;
    reachable.add(id);
    for (const dep of Object.keys(selected.get(id)?.dependencies ?? {})) walk(dep);
  };
  for (const r of requirements) walk(r.id);
  return [...selected.values()].filter((v) => reachable.has(v.id));
}
