/**
 * `ggen registry import --data DIR PATH...`: load a whole marketplace into a registry in one step.
 * A PATH is a package directory (ggen.toml or ggen's package.toml), a directory holding package
 * directories (found at any depth, as ggen's marketplace nests some), or an `index.json` whose
 * entries name their directories by `path`. Each package is packed, signed by the importer's key
 * and stored as a publish would store it (the first publisher owns the id; a version is never
 * replaced); each one is reported imported, present or refused, with the reason.
 * @module
 */
import { dirname, join, resolve as resolvePath } from "node:path";
import { packDirectory, type PackedPackage } from "../archive/mod.ts";
import { MANIFEST_NAME, PACKAGE_TOML_NAME, toBase64, versionFromManifest } from "../core/mod.ts";
import { openRegistryStorage } from "../registry/server/mod.ts";
import { loadOrCreateSigner, signVersion } from "../trust/mod.ts";
import type { Context } from "./context.ts";
import { loadServerConfig } from "./registry_cmd.ts";

/** What happened to one package */
export interface ImportResult {
  /** The directory it came from */
  path: string;
  /** Its id and version, when its manifest could be read */
  id: string | null;
  version: string | null;
  /** imported, present (that version is there already, the same bytes) or refused */
  result: "imported" | "present" | "refused";
  /** Why it was refused, or null */
  reason: string | null;
}

const isFile = (path: string) => Deno.stat(path).then((s) => s.isFile, () => false);
const isPackageDir = async (dir: string) =>
  await isFile(join(dir, MANIFEST_NAME)) || await isFile(join(dir, PACKAGE_TOML_NAME));

/** Package directories under `dir` (itself, or any depth below; bounded) */
async function packageDirs(dir: string, depth = 0): Promise<string[]> {
  if (await isPackageDir(dir)) return [dir];
  if (depth >= 4) return [];
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && !e.name.startsWith(".")) found.push(...await packageDirs(join(dir, e.name), depth + 1));
  }
  return found.sort();
}

/** The package directories an index.json names (paths relative to the index or one of its parents) */
async function indexDirs(file: string): Promise<string[]> {
  const index = JSON.parse(await Deno.readTextFile(file)) as { packages?: { path?: unknown }[] };
  const dirs: string[] = [];
  for (const p of Array.isArray(index.packages) ? index.packages : []) {
    if (typeof p.path !== "string" || p.path.split(/[\\/]/).includes("..")) continue;
    // ggen's index names paths from its repository's root: try the index's directory and its parents
    let base = dirname(resolvePath(file));
    for (let up = 0; up < 4; up++, base = dirname(base)) {
      if (await isPackageDir(join(base, p.path))) {
        dirs.push(join(base, p.path));
        break;
      }
    }
  }
  return dirs;
}

/** `ggen registry import` */
export async function registryImportCommand(
  ctx: Context,
  paths: string[],
  opts: { data: string; config?: string; key?: string },
): Promise<void> {
  const { config } = await loadServerConfig(opts);
  const dirs: string[] = [];
  for (const p of paths) {
    dirs.push(...(p.endsWith(".json") && await isFile(p) ? await indexDirs(p) : await packageDirs(resolvePath(p))));
  }
  const signer = await loadOrCreateSigner(ctx.config.home, opts.key ?? "default");
  const { metadata, blobs } = await openRegistryStorage(opts.data, config.storage);
  const counts = { imported: 0, present: 0, refused: 0 };
  try {
    for (const dir of dirs) {
      let packed: PackedPackage | undefined;
      let result: ImportResult;
      try {
        packed = await packDirectory(dir, { namespace: ctx.config.registry.namespace });
        const { id, version } = packed.manifest;
        const existing = await metadata.getVersion(id, version);
        if (existing) {
          result = existing.sha256 === packed.sha256 ? { path: dir, id, version, result: "present", reason: null } : {
            path: dir,
            id,
            version,
            result: "refused",
            reason: `${id}@${version} is in the registry with other bytes (sha256 ${existing.sha256})`,
          };
        } else {
          const seq = (await metadata.maxPublishSeq(id)) + 1;
          const v = await signVersion(versionFromManifest(packed.manifest, packed), signer, seq);
          // As a publish: the blob first, then the row (an interrupted import leaves an orphan blob at most)
          await blobs.put(packed.sha256, packed.bytes);
          await metadata.insertVersion(v, { keyid: signer.keyid, publicKey: toBase64(signer.publicKeyRaw), seq });
          result = { path: dir, id, version, result: "imported", reason: null };
        }
      } catch (err) {
        // One package's problem (a bad manifest, another owner, a conflict) does not stop the rest
        if (err instanceof Error) {
          result = {
            path: dir,
            id: packed?.manifest.id ?? null,
            version: packed?.manifest.version ?? null,
            result: "refused",
            reason: err.message,
          };
        } else throw err;
      }
      counts[result.result]++;
      ctx.out.result(
        result,
        `${result.result.padEnd(8)} ${result.id ?? "-"}@${result.version ?? "-"}  ${
          result.reason ? `(${result.reason}) ` : ""
        }${dir}`,
      );
    }
  } finally {
    await metadata.close();
  }
  ctx.logger.info(
    `${counts.imported} imported, ${counts.present} already there, ${counts.refused} refused, signed by ${signer.keyid}`,
  );
}
