/**
 * Where the P2P worker's code comes from. Run from source, it is `workers/p2p_worker.ts`. The
 * single-file build (`deno task bundle`) carries the worker's own bundle in a global that its
 * first line sets; it is written once per build under `$GGEN_HOME/runtime` and loaded from that
 * file, because V8 keeps the compiled code of files between runs but not of `blob:` URLs (the
 * bundled worker loads in about 0.2 s from a file, 0.6 s from a blob, measured here).
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The global the single-file build sets: `globalThis[Symbol.for(EMBEDDED_WORKER_KEY)]` */
export const EMBEDDED_WORKER_KEY = "ggen.p2pWorker";

/** The worker's code as the single-file build embeds it */
export interface EmbeddedWorker {
  /** SHA-256 of `source`, hex */
  sha256: string;
  /** The bundled worker module */
  source: string;
}

function embedded(): EmbeddedWorker | undefined {
  const value = (globalThis as Record<symbol, unknown>)[Symbol.for(EMBEDDED_WORKER_KEY)];
  const e = value as Partial<EmbeddedWorker> | undefined;
  return typeof e?.sha256 === "string" && typeof e.source === "string" ? e as EmbeddedWorker : undefined;
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** The URL to start the P2P worker from; with an embedded worker, its file under `home` */
export async function workerUrl(home: string): Promise<string> {
  const worker = embedded();
  if (!worker) return import.meta.resolve("../../workers/p2p_worker.ts");
  const path = join(home, "runtime", `p2p_worker-${worker.sha256.slice(0, 16)}.js`);
  // A file left half-written or changed is written again: only this build's code runs
  const current = await Deno.readTextFile(path).catch(() => undefined);
  if (current === undefined || sha256Hex(current) !== worker.sha256) {
    await Deno.mkdir(join(home, "runtime"), { recursive: true });
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, worker.source, { mode: 0o644 });
    await Deno.rename(tmp, path);
  }
  return pathToFileURL(path).href;
}
