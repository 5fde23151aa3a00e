/**
 * The persistent metadata cache `$GGEN_HOME/metadata/<id>.json`: registry-signed package
 * documents kept as received, so a later command (or a peer, through the daemon) can use them
 * with central gone. A read is parsed like a central answer and the caller verifies the
 * registry's signature again, as it does for central; the cache itself is never trusted.
 * Bounded by entry count: past it, the least recently written documents go.
 * @module
 */
import { join } from "node:path";
import { isValidPackageId, type PackageInfo, parsePackageInfo, ValidationError } from "../core/mod.ts";
import { writeFileAtomic } from "./atomic.ts";

/** Documents larger than this are not kept (central's own cap is 8 MiB) */
const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** Options of {@link openMetadataCache} */
export interface MetadataCacheInit {
  /** `$GGEN_HOME` */
  home: string;
  /** Most documents kept. @default 5000 */
  maxEntries?: number;
}

/** The metadata cache */
export interface MetadataCache {
  /** Its directory */
  readonly dir: string;
  /** The document of `id` as stored (parsed and shape-checked, not yet signature-checked), or undefined */
  get(id: string): Promise<PackageInfo | undefined>;
  /** The stored text of `id`'s document, for serving it to peers unchanged */
  getText(id: string): Promise<string | undefined>;
  /** Keep a registry-signed document; unsigned ones are not kept (nothing could verify them later) */
  put(info: PackageInfo): Promise<void>;
  /** Every cached package id */
  ids(): Promise<string[]>;
}

/** Path of `id`'s document under `dir`, refusing anything that is not a package id */
export function metadataPath(dir: string, id: string): string {
  if (!isValidPackageId(id)) throw new ValidationError(`"${id}" is not a package id`);
  return join(dir, `${id}.json`);
}

/** Open (lazily creating) the cache of `home` */
export function openMetadataCache(init: MetadataCacheInit): MetadataCache {
  const dir = join(init.home, "metadata");
  const maxEntries = init.maxEntries ?? 5000;

  const getText = async (id: string): Promise<string | undefined> => {
    try {
      const path = metadataPath(dir, id);
      if ((await Deno.stat(path)).size > MAX_DOCUMENT_BYTES) return undefined;
      return await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof ValidationError) return undefined;
      throw err;
    }
  };

  const ids = async (): Promise<string[]> => {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        const id = e.name.replace(/\.json$/, "");
        if (e.isFile && e.name.endsWith(".json") && isValidPackageId(id)) out.push(id);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out;
  };

  const evict = async () => {
    const all = await ids();
    if (all.length <= maxEntries) return;
    const aged = await Promise.all(
      all.map(async (id) => ({ id, at: (await Deno.stat(metadataPath(dir, id))).mtime?.getTime() ?? 0 })),
    );
    aged.sort((a, b) => a.at - b.at);
    for (const { id } of aged.slice(0, all.length - maxEntries)) {
      await Deno.remove(metadataPath(dir, id)).catch(() => {});
    }
  };

  return {
    dir,
    getText,
    async get(id) {
      const text = await getText(id);
      if (text === undefined) return undefined;
      try {
        return parsePackageInfo(JSON.parse(text), id);
      } catch {
        // A damaged entry is as good as none: the network answers instead
        await Deno.remove(metadataPath(dir, id)).catch(() => {});
        return undefined;
      }
    },
    async put(info) {
      if (!info.metadata_signature) return;
      const { source: _source, vouchers: _vouchers, ...doc } = info;
      const text = JSON.stringify(doc);
      if (text.length > MAX_DOCUMENT_BYTES) return;
      await writeFileAtomic(metadataPath(dir, info.id), text);
      await evict();
    },
    ids,
  };
}
