/**
 * Where the P2P worker's code comes from. Run from source, it is `workers/p2p_worker.ts`. The
 * single-file build (`deno task bundle`) carries the worker's own bundle gzipped in a comment at
 * the end of the file (base64 cannot end a comment; Deno reads the whole file at every start, so it is
 * kept small) and names its SHA-256 in a global that its first line sets. On first use the
 * worker is written to the user's cache, named by its digest, and loaded from that file:
 * V8 keeps the compiled code of files between runs, not of `blob:` URLs (0.25 s against 0.6 s).
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fromBase64, IntegrityError } from "../core/mod.ts";

/** The global the single-file build sets: `globalThis[Symbol.for(EMBEDDED_WORKER_KEY)] = { sha256 }` */
export const EMBEDDED_WORKER_KEY = "ggen.p2pWorker";

/** The comment that holds the worker: this, its sha256, a newline, base64 lines (gzip), the comment's end */
export const EMBEDDED_WORKER_MARKER = "/*ggen-embedded-p2p-worker:";

function embeddedDigest(): string | undefined {
  const value = (globalThis as Record<symbol, unknown>)[Symbol.for(EMBEDDED_WORKER_KEY)];
  const sha256 = (value as { sha256?: unknown } | undefined)?.sha256;
  return typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256) ? sha256 : undefined;
}

/** The worker's code from the comment at the end of the single file `bundle` */
async function extract(bundle: string, sha256: string): Promise<string> {
  const text = await Deno.readTextFile(bundle);
  const start = text.lastIndexOf(`${EMBEDDED_WORKER_MARKER}${sha256}\n`);
  const end = start < 0 ? -1 : text.indexOf("*/", start);
  if (end < 0) throw new IntegrityError(`${bundle} does not hold its P2P worker: download or build it again`);
  const b64 = text.slice(start + EMBEDDED_WORKER_MARKER.length + 65, end).replaceAll("\n", "");
  const gzipped = fromBase64(b64) as Uint8Array<ArrayBuffer>;
  const source = await new Response(new Blob([gzipped]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  if (createHash("sha256").update(source).digest("hex") !== sha256) {
    throw new IntegrityError(`The P2P worker inside ${bundle} is damaged: download or build it again`);
  }
  return source;
}

/**
 * Where the worker file goes: the user's cache (`$XDG_CACHE_HOME/ggen/runtime`, else
 * `~/.cache/ggen/runtime`), shared by every `GGEN_HOME` of the user, so Deno's code cache for it
 * stays warm; `$GGEN_HOME/runtime` without a home directory
 */
export function runtimeDir(home: string): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const user = Deno.env.get("HOME");
  return xdg ? join(xdg, "ggen", "runtime") : user ? join(user, ".cache", "ggen", "runtime") : join(home, "runtime");
}

/** The URL to start the P2P worker from; with an embedded worker, its file in {@link runtimeDir} */
export async function workerUrl(home: string): Promise<string> {
  const sha256 = embeddedDigest();
  if (!sha256) return import.meta.resolve("../../workers/p2p_worker.ts");
  // Named by its digest and renamed into place whole: a file there is this build's worker
  const dir = runtimeDir(home);
  const path = join(dir, `p2p_worker-${sha256.slice(0, 16)}.js`);
  const present = await Deno.stat(path).then((s) => s.isFile, () => false);
  if (!present) {
    const source = await extract(fileURLToPath(import.meta.url), sha256);
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, source, { mode: 0o644 });
    await Deno.rename(tmp, path);
  }
  return pathToFileURL(path).href;
}
