/**
 * `ggen registry export --data DIR OUT`: a copy of a registry that any web server can serve as a
 * read-only central source: `OUT/index.json` (ggen's index format, every version with its
 * publisher's signature) and `OUT/tarballs/{id}-{version}.tgz`, linked relative to the index.
 * Clients point `--registry` at `https://host/…/index.json`. Exporting again writes only the
 * tarballs that are missing or differ, and replaces the index last, so a server never lists a
 * tarball it does not have yet.
 * @module
 */
import { join } from "node:path";
import { NotFoundError } from "../core/mod.ts";
import { buildIndexJson, openRegistryStorage } from "../registry/server/mod.ts";
import { hashFile, writeFileAtomic, writeStreamVerified } from "../store/mod.ts";
import type { Context } from "./context.ts";
import { loadServerConfig } from "./registry_cmd.ts";

/** Where a version's tarball goes, relative to the index */
const tarballPath = (v: { id: string; version: string }) => `tarballs/${v.id}-${v.version}.tgz`;

/** True when `path` holds exactly the bytes of `sha256` */
async function holds(path: string, sha256: string, size: number): Promise<boolean> {
  const stat = await Deno.stat(path).catch(() => undefined);
  return stat?.isFile === true && stat.size === size && await hashFile(path) === sha256;
}

/** `ggen registry export` */
export async function registryExportCommand(
  ctx: Context,
  out: string,
  opts: { data: string; config?: string },
): Promise<void> {
  const { config } = await loadServerConfig(opts);
  const { metadata, blobs } = await openRegistryStorage(opts.data, config.storage);
  let written = 0;
  let kept = 0;
  try {
    const index = await buildIndexJson(metadata, "", tarballPath);
    await Deno.mkdir(join(out, "tarballs"), { recursive: true });
    for (const entry of index.packages) {
      for (const v of entry.releases) {
        ctx.signal.throwIfAborted();
        const path = join(out, tarballPath(v));
        if (await holds(path, v.sha256, v.size)) {
          kept++;
          continue;
        }
        const body = await blobs.open(v.sha256);
        if (!body) throw new NotFoundError(`The registry has no bytes for ${v.id}@${v.version} (sha256 ${v.sha256})`);
        // Copied through a temporary file and checked on the way: a web server never serves half a tarball
        await writeStreamVerified(path, body, { sha256: v.sha256, size: v.size, signal: ctx.signal });
        written++;
      }
    }
    await writeFileAtomic(join(out, "index.json"), JSON.stringify(index, null, 1) + "\n");
    ctx.out.result(
      { index: join(out, "index.json"), packages: index.package_count, tarballs_written: written, tarballs_kept: kept },
      `Exported ${index.package_count} packages to ${join(out, "index.json")} (${written} tarballs written, ${kept} ` +
        "already there). Serve the directory with any web server and point clients at its index.json: " +
        "ggen --registry https://HOST/PATH/index.json search ...",
    );
  } finally {
    await metadata.close();
  }
}
