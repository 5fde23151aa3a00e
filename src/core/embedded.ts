/**
 * Code the single-file build (`deno task bundle`) carries outside its parsed part: the commands,
 * the P2P worker, the registry's server side and the dashboard's page, each bundled on its own,
 * compressed (Brotli), in comments at the end of the file (base64 cannot end a comment). Deno
 * reads the whole file at every start but parses only the CLI, so `--version` or an install does
 * not pay for libp2p, the S3 SDK or the HTML sanitiser. The first line of the build sets
 * `globalThis[Symbol.for(EMBEDDED_KEY)]` to the SHA-256 of each part by name; on first use a
 * part is written to the user's cache, named by its digest, and loaded from that file: V8 keeps
 * the compiled code of files between runs, not of `blob:` URLs (0.25 s against 0.6 s for the
 * worker, measured).
 * @module
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fromBase64, toHex } from "./bytes.ts";
import { IntegrityError } from "./errors.ts";

/** The global the single-file build sets: name → SHA-256 of that part's source */
export const EMBEDDED_KEY = "ggen.embedded";

/** The comment that holds a part: this, `name:sha256`, a newline, base64 lines (Brotli), the comment's end */
export const EMBEDDED_MARKER = "/*ggen-embedded:";

/** The parts this process wrote out (their compiled code is not in Deno's cache yet) */
const writtenNow = new Set<string>();

/** True when this process wrote the part `name` out (a first start after an install or upgrade) */
export function embeddedWrittenNow(name: string): boolean {
  return writtenNow.has(name);
}

/** The SHA-256 of the embedded part `name`, when this is the single-file build */
export function embeddedDigest(name: string): string | undefined {
  const value = (globalThis as Record<symbol, unknown>)[Symbol.for(EMBEDDED_KEY)];
  const sha256 = (value as Record<string, unknown> | undefined)?.[name];
  return typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256) ? sha256 : undefined;
}

/**
 * The source of the part `name` from its comment in `text`, the single file `file` read whole:
 * the part with digest `sha256`, or without it the last part of that name; checked against its
 * digest either way
 */
export async function embeddedPartSource(text: string, file: string, name: string, sha256?: string): Promise<string> {
  const start = text.lastIndexOf(`${EMBEDDED_MARKER}${name}:${sha256 ?? ""}`);
  const newline = start < 0 ? -1 : text.indexOf("\n", start);
  const end = newline < 0 ? -1 : text.indexOf("*/", newline);
  if (end < 0) throw new IntegrityError(`${file} does not hold its ${name} code: download or build it again`);
  const digest = text.slice(start + EMBEDDED_MARKER.length + name.length + 1, newline);
  const compressed = fromBase64(text.slice(newline + 1, end).replaceAll("\n", "")) as Uint8Array<ArrayBuffer>;
  const source = await new Response(new Blob([compressed]).stream().pipeThrough(new DecompressionStream("brotli")))
    .text();
  // WebCrypto, not node:crypto: this runs on the start-up path, where node:crypto costs ~10 ms to load
  const actual = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source))));
  if (actual !== digest) {
    throw new IntegrityError(`The ${name} code inside ${file} is damaged: download or build it again`);
  }
  return source;
}

/**
 * Where the parts go: the user's cache (`$XDG_CACHE_HOME/ggen/runtime`, else
 * `~/.cache/ggen/runtime`), shared by every `GGEN_HOME` of the user, so Deno's code cache for
 * them stays warm; `$GGEN_HOME/runtime` without a home directory
 */
export function runtimeDir(home: string): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const user = Deno.env.get("HOME");
  return xdg ? join(xdg, "ggen", "runtime") : user ? join(user, ".cache", "ggen", "runtime") : join(home, "runtime");
}

/** The V8 flags scripts/install.sh's launcher gives a command, by what the command is */
export type V8FlagSet = "command" | "daemon" | "serve";

/**
 * The V8 flags the launcher runs `ggen ARGS` with (scripts/install.sh, which says why): a
 * command that ends compiles every function at once (--no-lazy), a daemon (`p2p start`) does not,
 * and `registry serve` keeps V8's defaults. The tests and benchmarks run ggen by the same rule.
 */
export function v8FlagSet(args: readonly string[]): V8FlagSet {
  const follows = (word: string, before: string) => args.some((arg, i) => arg === word && args[i - 1] === before);
  if (follows("serve", "registry")) return "serve";
  if (follows("start", "p2p")) return "daemon";
  return "command";
}

/**
 * The environment the launcher adds for `ggen ARGS` (scripts/install.sh): a daemon runs with
 * glibc's malloc held to 2 arenas (a user's own MALLOC_ARENA_MAX wins). Each of the runtime's
 * threads otherwise gets an arena of its own, which keeps what it freed: an idle daemon's RSS was
 * 1-4 MB lower with 2, and a 100 MiB P2P fetch no slower (bench:p2p). Other commands end too soon
 * for it to matter.
 */
export function launcherEnv(args: readonly string[]): Record<string, string> {
  return v8FlagSet(args) === "daemon" ? { MALLOC_ARENA_MAX: "2" } : {};
}

/**
 * The file name of a part with digest `sha256`, as loaded by a process run with `args`. V8
 * refuses a code cache made under other flags, and Deno then compiles the file again and
 * replaces its cache: each flag set loads the parts from files of its own, so a daemon's start
 * does not cost the next command a compile of the parts (the first `search --offline` after a
 * daemon started: 250-280 -> 182-239 ms, 100-110 warm; the rest is the single file itself, which
 * both load).
 */
export function partFileName(name: string, sha256: string, args: readonly string[] = Deno.args): string {
  const set = v8FlagSet(args);
  return `${name}-${sha256.slice(0, 16)}${set === "command" ? "" : `.${set}`}.js`;
}

/** Where this process loads the part `name` with digest `sha256` from, once written out */
function partPath(name: string, sha256: string, home: string): string {
  return join(runtimeDir(home), partFileName(name, sha256));
}

/**
 * The file URL of the embedded part `name`, written out on first use; undefined when this is not
 * the single-file build (the caller then uses the source file)
 */
export async function embeddedModuleUrl(name: string, home: string): Promise<string | undefined> {
  const sha256 = embeddedDigest(name);
  if (!sha256) return undefined;
  // Named by its digest and renamed into place whole: a file there is this build's part
  const path = partPath(name, sha256, home);
  const present = await Deno.stat(path).then((s) => s.isFile, () => false);
  if (!present) {
    // The main module is the single file, also when a part asks (the server side starts workers)
    const bundle = fileURLToPath(Deno.mainModule);
    const source = await embeddedPartSource(await Deno.readTextFile(bundle), bundle, name, sha256);
    await Deno.mkdir(runtimeDir(home), { recursive: true });
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, source, { mode: 0o644 });
    await Deno.rename(tmp, path);
    writtenNow.add(name);
  }
  return pathToFileURL(path).href;
}

/**
 * The URL to start the P2P worker from: the single-file build's embedded part, else
 * `workers/p2p_worker.ts` (run from source, or included by `deno compile`)
 */
export async function p2pWorkerUrl(home: string): Promise<string> {
  return await embeddedModuleUrl("p2p_worker", home) ?? P2P_WORKER_SOURCE;
}

/**
 * {@link p2pWorkerUrl} without waiting for anything: undefined when the single-file build has
 * not written the part out yet (its first run)
 */
export function p2pWorkerUrlNow(home: string): string | undefined {
  const sha256 = embeddedDigest("p2p_worker");
  if (!sha256) return P2P_WORKER_SOURCE;
  const path = partPath("p2p_worker", sha256, home);
  try {
    return Deno.statSync(path).isFile ? pathToFileURL(path).href : undefined;
  } catch {
    return undefined;
  }
}

const P2P_WORKER_SOURCE = import.meta.resolve("../../workers/p2p_worker.ts");
