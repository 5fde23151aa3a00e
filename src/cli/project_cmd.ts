/**
 * `ggen outdated` and `ggen tree`: what the project's lock holds, against what the registry
 * offers now (like `npm outdated`), and as the dependency tree it resolves to (like `cargo tree`).
 * @module
 */
import * as semver from "semver";
import { NotFoundError } from "../core/mod.ts";
import { type LockedPackage, projectRoot, readLockfile } from "../store/mod.ts";
import type { Context } from "./context.ts";

/** One requirement of the project, compared with the registry */
export interface OutdatedRow {
  /** Package id */
  id: string;
  /** The range the project requires */
  range: string;
  /** The locked version */
  current: string | null;
  /** The newest version the range allows (what `ggen update` would take) */
  wanted: string | null;
  /** The newest version of all (a new range reaches it) */
  latest: string | null;
}

/** `ggen outdated`: every requirement whose locked version is behind what the registry has */
export async function outdatedCommand(ctx: Context): Promise<void> {
  const lock = await readLockfile(projectRoot());
  const locked = new Map(lock.packages.map((p) => [p.id, p.version]));
  const registry = await ctx.registry();
  let behind = 0;
  for (const [id, range] of Object.entries(lock.requires).sort(([a], [b]) => a.localeCompare(b))) {
    const info = await registry.info(id, { signal: ctx.signal }).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const live = (info?.versions ?? []).filter((v) => !v.yanked).map((v) => v.version);
    const row: OutdatedRow = {
      id,
      range,
      current: locked.get(id) ?? null,
      wanted: semver.maxSatisfying(live, range),
      latest: live.sort(semver.compare).at(-1) ?? null,
    };
    const current = row.current;
    const isBehind = current === null || [row.wanted, row.latest].some((v) => v !== null && semver.gt(v, current));
    if (!isBehind && !ctx.out.json) continue;
    if (isBehind) behind++;
    ctx.out.result(
      row,
      `${id.padEnd(32)} ${String(current ?? "-").padEnd(12)} wanted ${String(row.wanted ?? "-").padEnd(12)} latest ${
        row.latest ?? "-"
      }`,
    );
  }
  if (behind === 0) ctx.logger.info("Every requirement is at the newest version its range allows");
}

/** `ggen tree`: the locked packages as the dependency tree of the project's requirements */
export async function treeCommand(ctx: Context): Promise<void> {
  const lock = await readLockfile(projectRoot());
  const byId = new Map<string, LockedPackage>(lock.packages.map((p) => [p.id, p]));
  const print = (p: LockedPackage, depth: number, prefix: string, parent: string | null, seen: Set<string>) => {
    const repeated = seen.has(p.id);
    ctx.out.result(
      { id: p.id, version: p.version, depth, parent },
      `${prefix}${p.id}@${p.version}${repeated ? " (*)" : ""}`,
    );
    if (repeated) return;
    const deps = Object.keys(p.dependencies).sort().map((id) => byId.get(id)).filter((d): d is LockedPackage =>
      d !== undefined
    );
    const next = new Set([...seen, p.id]);
    const indent = prefix.replace("├── ", "│   ").replace("└── ", "    ");
    deps.forEach((d, i) => print(d, depth + 1, `${indent}${i === deps.length - 1 ? "└── " : "├── "}`, p.id, next));
  };
  for (const id of Object.keys(lock.requires).sort()) {
    const root = byId.get(id);
    if (root) print(root, 0, "", null, new Set());
  }
}
