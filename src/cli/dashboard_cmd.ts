/**
 * The daemon's dashboard from the command line: what it shows of the local store, and
 * `ggen p2p ui [--open]`, which prints (and opens) a one-time sign-in link.
 * @module
 */
import { asDaemonClient, connectDaemon, type HeldPackage } from "../p2p/mod.ts";
import { UnavailableError } from "../core/mod.ts";
import type { Context } from "./context.ts";

/** Packages named in the metadata cache, at most (the listing is bounded) */
const MAX_NAMED_PACKAGES = 500;

/** The blobs in this home's store, named from its metadata cache */
export async function heldPackages(ctx: Pick<Context, "cache" | "metadata">): Promise<HeldPackage[]> {
  const names = new Map<string, string[]>();
  for (const id of (await ctx.metadata.ids()).slice(0, MAX_NAMED_PACKAGES)) {
    const info = await ctx.metadata.get(id).catch(() => undefined);
    for (const v of info?.versions ?? []) names.set(v.sha256, [...names.get(v.sha256) ?? [], `${id}@${v.version}`]);
  }
  return (await ctx.cache.list()).map((sha256) => ({ sha256, names: names.get(sha256) ?? [] }));
}

/** `ggen p2p ui`: a one-time link to the running daemon's dashboard */
export async function dashboardCommand(ctx: Context, opts: { open?: boolean }): Promise<void> {
  const daemon = asDaemonClient(await connectDaemon(ctx.config.home, ctx.logger));
  if (!daemon) {
    throw new UnavailableError(
      `No P2P daemon runs for ${ctx.config.home}: start one with \`ggen p2p start\`, then run \`ggen p2p ui\` again`,
    );
  }
  const url = `http://127.0.0.1:${daemon.port}${await daemon.dashboardPath({ signal: ctx.signal })}`;
  ctx.out.result({ url }, `${url}\n(one-time link: it signs this browser in and then stops working)`);
  if (!opts.open) return;
  const opener = Deno.build.os === "darwin" ? "open" : Deno.build.os === "windows" ? "explorer" : "xdg-open";
  try {
    const child = new Deno.Command(opener, { args: [url], stdout: "null", stderr: "null" }).spawn();
    await child.status;
  } catch (err) {
    // No permission to run it (the single file runs without --allow-run) or no opener installed
    ctx.logger.warn(`Could not start ${opener} (${(err as Error).message}): open the link above yourself`);
  }
}
