/**
 * `ggen search` and `ggen info`.
 * @module
 */
import * as semver from "semver";
import { NotFoundError, parsePackageSpec } from "../core/mod.ts";
import type { Context } from "./context.ts";
import { projectRoot, readLockfile } from "../store/mod.ts";
import { verifiedInfo } from "./install.ts";
import { openTrustStore } from "../trust/mod.ts";

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
  if (ctx.out.json) {
    ctx.out.result({ ...info, versions }, "");
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
}
