/**
 * `ggen search` and `ggen info`.
 * @module
 */
import * as semver from "semver";
import { stringify as stringifyToml } from "smol-toml";
import {
  extraTablesOf,
  MIB,
  NotFoundError,
  PACKAGE_TOML_NAME,
  type PackageVersion,
  parsePackageSpec,
  type Registry,
} from "../core/mod.ts";
import { readRootText } from "../archive/mod.ts";
import type { Context } from "./context.ts";
import { projectRoot, readLockfile } from "../store/mod.ts";
import { ensureCached, verifiedInfo } from "./install.ts";
import { openTrustStore } from "../trust/mod.ts";

/** Largest package `info` fetches to show its package.toml tables (template packs are small) */
const INFO_FETCH_MAX_BYTES = 4 * MIB;

/**
 * The extra tables of a version's package.toml (ggen's own package format), read from its
 * tarball: the cached copy, else fetched and verified like an install's; none when the
 * package has no package.toml, is large, or cannot be fetched now (said at debug level)
 */
async function extraTables(ctx: Context, registry: Registry, v: PackageVersion): Promise<Record<string, unknown>> {
  if (v.size > INFO_FETCH_MAX_BYTES && !(await ctx.cache.has(v.sha256))) return {};
  try {
    const { path } = await ensureCached(ctx, registry, ctx.cache, v);
    const file = await readRootText({ path }, (p) => p === PACKAGE_TOML_NAME, 256 * 1024);
    return file && !file.truncated ? extraTablesOf(file.text) : {};
  } catch (err) {
    ctx.logger.debug(`${v.id}@${v.version}: no package.toml tables shown (${(err as Error).message})`);
    return {};
  }
}

/** `ggen search QUERY` */
export async function searchCommand(ctx: Context, query: string, opts: { limit: number }): Promise<void> {
  const registry = await ctx.registry();
  const hits = await registry.search({ text: query, limit: opts.limit }, { signal: ctx.signal });
  if (hits.length === 0) ctx.logger.info(`No packages match "${query}"`);
  for (const h of hits) {
    ctx.out.result(
      h,
      `${h.id}@${h.version}  ${h.name} - ${h.description}${h.tags.length ? ` [${h.tags.join(", ")}]` : ""}`,
    );
  }
}

/** `ggen info ID[@RANGE]` */
export async function infoCommand(ctx: Context, spec: string): Promise<void> {
  const { id, range } = parsePackageSpec(spec);
  const registry = await ctx.registry();
  const trust = await openTrustStore(ctx.config.home);
  const lock = await readLockfile(projectRoot()).catch(() => undefined);
  const info = await verifiedInfo(ctx, registry, trust, id, { signal: ctx.signal, ...(lock ? { lock } : {}) });
  await trust.save();
  const versions = info.versions.filter((v) => semver.satisfies(v.version, range));
  if (versions.length === 0) throw new NotFoundError(`Cannot show "${spec}": no version matches "${range}"`);
  const newest = versions.filter((v) => !v.yanked).at(-1) ?? versions.at(-1)!;
  const extras = await extraTables(ctx, registry, newest);
  if (ctx.out.json) {
    ctx.out.result({ ...info, versions, ...(Object.keys(extras).length ? { extras } : {}) }, "");
    return;
  }
  ctx.out.line(`${info.id}  ${info.name}`);
  ctx.out.line(`  ${info.description}`);
  for (const v of versions) {
    const deps = Object.entries(v.dependencies).map(([d, r]) => `${d}@${r}`).join(", ");
    ctx.out.line(
      `  ${v.version}${v.yanked ? " (yanked)" : ""}  sha256:${v.sha256.slice(0, 16)}…  ${v.size} B  ${v.published_at}${
        deps ? `  deps: ${deps}` : ""
      }`,
    );
  }
  if (Object.keys(extras).length) {
    ctx.out.line(`  ${PACKAGE_TOML_NAME} of ${newest.version}:`);
    for (const line of stringifyToml(extras).trim().split("\n")) ctx.out.line(`    ${line}`);
  }
}
