/**
 * `deno task bundle`: the single file `dist/ggen.js`. The commands, the P2P worker, the registry's
 * server side and the dashboard's page are bundled on their own and carried, compressed, in comments
 * at the end of the CLI's bundle (see src/core/embedded.ts): Deno parses only the command-line
 * parsing at start.
 * The CLI's bundle imports no node: module: scripts/commander_host.js and scripts/node_host.js stand
 * in (Deno loads its Node.js layer with the first one, at every start).
 * The examples the demo installs are set as a global by the first line. Offline: `deno bundle` needs no download.
 * Deno 2.9.6's `bundle --minify` leaves out the `require` shim that npm packages written as
 * CommonJS need ("Dynamic require of node:events is not supported", measured): the parts are
 * minified by a second pass over the first pass's output (see `bundle`), the CLI's bundle not at all.
 * Run: `deno task bundle [--output PATH]`.
 */
import { createHash } from "node:crypto";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { toBase64 } from "../src/core/mod.ts";
import { EMBEDDED_KEY, EMBEDDED_MARKER } from "../src/core/mod.ts";
import { EMBEDDED_EXAMPLES_KEY } from "../src/cli/examples.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const outIndex = Deno.args.indexOf("--output");
const output = outIndex >= 0 ? Deno.args[outIndex + 1]! : join(root, "dist", "ggen.js");
const work = await Deno.makeTempDir({ prefix: "ggen-bundle-" });

/**
 * `code` with every character beyond Latin-1 written as a `\uXXXX` escape. V8 keeps a script's
 * source in the heap for as long as the script lives, one byte per character when all of them
 * fit in Latin-1, two otherwise: one em dash in a library's comment doubled the P2P worker's
 * 2.7 MB source in each daemon. The characters sit in comments, strings and regular
 * expressions, where the escape means the same; one after a backslash would not, so it stops
 * the build.
 */
function latin1Source(code: string, name: string): string {
  return code.replace(/[\u0100-\u{10ffff}]/gu, (ch: string, offset: number) => {
    if (code[offset - 1] === "\\") throw new Error(`${name}: an escaped non-Latin-1 character at ${offset}`);
    let escaped = "";
    // A character beyond the BMP is two UTF-16 units: a surrogate pair of escapes
    for (let i = 0; i < ch.length; i++) escaped += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return escaped;
  });
}

/** The smallest array literal {@link compactNumberArrays} rewrites: data tables, not code */
const MIN_TABLE_ENTRIES = 256;

/**
 * `code` with every array literal of at least {@link MIN_TABLE_ENTRIES} plain numbers, which the
 * bundler writes one number per line, on one line. V8 keeps, beside a script's source, one 8-byte
 * entry per line once anything asks for a position (a stack trace does): kad-dht's table of
 * 65,536 key prefixes and three more made the P2P worker 154,610 lines. On one line each: 60,791
 * lines, 0.3 MB less source and about 1 MB less worker heap in an idle daemon (heap snapshot and
 * `p2p status`, measured). Only lines holding one number each, between a line ending in `[` and
 * a line that starts with `]`, are joined, so nothing else in the code changes.
 */
function compactNumberArrays(code: string): string {
  const number = String.raw`-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:e-?\d+)?)`;
  const table = new RegExp(String.raw`\[\n((?:[ \t]*${number},?\n)+)[ \t]*\]`, "g");
  return code.replace(table, (whole: string, body: string) => {
    const entries = body.split("\n").map((line) => line.trim()).filter(Boolean);
    return entries.length < MIN_TABLE_ENTRIES ? whole : `[${entries.join("")}]`;
  });
}

/** The imports of commander's lib/command.js that scripts/commander_host.js stands in for, as bundled */
const COMMANDER_NODE_IMPORTS = [
  'import childProcess from "node:child_process";',
  'import fs from "node:fs";',
  'import process from "node:process";',
];

/**
 * `code` (the CLI's bundle) with commander's imports of node:child_process, node:fs and
 * node:process replaced by scripts/commander_host.js (why: its module doc). Each import must be
 * found exactly once, inside commander's module, or the build stops: a new commander that
 * imports them otherwise gets looked at before it ships.
 */
async function withCommanderHost(code: string): Promise<string> {
  const start = code.search(
    /\n\/\/ node_modules\/\.deno\/commander@[^/\n]+\/node_modules\/commander\/lib\/command\.js\n/,
  );
  const end = start < 0 ? -1 : code.indexOf("\n// ", code.indexOf("\n", start + 1));
  if (end < 0) throw new Error("the CLI's bundle has no module commander/lib/command.js");
  let head = code.slice(start, end);
  for (const line of COMMANDER_NODE_IMPORTS) {
    if (code.split(line).length !== 2 || !head.includes(`\n${line}\n`)) {
      throw new Error(`commander's module does not import "${line}" once: look at scripts/commander_host.js`);
    }
    head = head.replace(`\n${line}\n`, "\n");
  }
  const hostFile = join(root, "scripts", "commander_host.js");
  const host = latin1Source(await Deno.readTextFile(hostFile), hostFile)
    .replace(/^export function commanderHost\(/m, "function commanderHost(");
  head += `\n${host}\nconst { process, fs, childProcess } = commanderHost();\n`;
  return code.slice(0, start) + head + code.slice(end);
}

/**
 * What the CLI's bundle may import of node: modules by name: what scripts/node_host.js implements
 * (and tests/node_host_test.ts checks). commander's default import of node:path is served too; of
 * it, commander calls only join and resolve for what ggen does (the rest refuses).
 */
const HOSTED_NODE_EXPORTS: Record<string, string[]> = {
  events: ["EventEmitter"],
  path: ["join", "resolve", "normalize", "sep", "delimiter"],
  url: ["fileURLToPath", "pathToFileURL"],
  util: ["stripVTControlCharacters"],
};
/** The binding the CLI's bundle reads them from */
const NODE_HOST = "__ggenNodeHost";

/**
 * `code` (the CLI's bundle) with its imports of node:events, node:path, node:url and node:util
 * read from scripts/node_host.js instead (why: its module doc), that file's source first. The
 * build stops when the bundle imports another node: module or imports one in a form not rewritten
 * here: the parsed part stays clear of Node's compatibility layer, and a new import gets looked at.
 */
async function withNodeHost(code: string): Promise<string> {
  const rewritten = code.replace(/^import ([^;\n]*?) from "node:([a-z_/]+)";$/gm, (line, clause, module) => {
    const hosted = HOSTED_NODE_EXPORTS[module];
    if (!hosted) throw new Error(`the CLI's bundle imports node:${module} (${line}): look at scripts/node_host.js`);
    const bindings = /^\{([^}]*)\}$/.exec(clause.trim())?.[1];
    if (bindings === undefined) {
      if (!/^[\w$]+$/.test(clause.trim())) throw new Error(`cannot rewrite "${line}": look at scripts/bundle.ts`);
      return `const ${clause.trim()} = ${NODE_HOST}.${module};`;
    }
    const names = bindings.split(",").map((b: string) => b.trim()).filter(Boolean).map((b: string) => {
      const m = /^([\w$]+)(?: as ([\w$]+))?$/.exec(b);
      if (!m) throw new Error(`cannot rewrite "${line}": look at scripts/bundle.ts`);
      if (!hosted.includes(m[1]!)) {
        throw new Error(`scripts/node_host.js has no node:${module} ${m[1]} (${line}): add it there and to its test`);
      }
      return m[2] ? `${m[1]}: ${m[2]}` : m[1];
    });
    return `const { ${names.join(", ")} } = ${NODE_HOST}.${module};`;
  });
  const left = /^import\b[^;\n]*"node:|\bimport\(\s*["']node:|\brequire\(\s*["']node:/m.exec(rewritten);
  if (left) throw new Error(`the CLI's bundle still imports a node: module (${left[0]}): look at scripts/bundle.ts`);
  const hostFile = join(root, "scripts", "node_host.js");
  const host = latin1Source(await Deno.readTextFile(hostFile), hostFile)
    .replace(/^export async function nodeHost\(/m, "async function nodeHost(");
  // In a function of its own: none of the host's names meets the bundle's
  return `const ${NODE_HOST} = await (async () => {\n${host}\nreturn await nodeHost();\n})();\n${rewritten}`;
}

/** The node: modules the commands part may import when it loads: they do not load Deno's Node.js layer */
const COMMANDS_PART_NODE_IMPORTS = ["path", "url", "sqlite"];

/** The `require` shim `deno bundle` writes for CommonJS packages */
const REQUIRE_SHIM = 'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
  "var __require = __deno_internal_createRequire(import.meta.url);\n";

/** semver's check for `NODE_DEBUG=semver`, which reads `process` when semver loads */
const SEMVER_DEBUG_PROBE = 'typeof process === "object" && process.env && process.env.NODE_DEBUG && ' +
  "/\\bsemver\\b/i.test(process.env.NODE_DEBUG)";

/**
 * `code` (the commands part, first pass) with nothing that loads Deno's Node.js layer as it loads:
 * that layer costs a `search --offline` about 30 ms (bench:startup), and only the commands that
 * hash package bytes, read archives or talk HTTP through node: modules need it; those import their
 * node: modules when they run (src/archive/unpack.ts, src/core/digest.ts). Three things loaded it:
 * a node: import (the build stops on any but {@link COMMANDS_PART_NODE_IMPORTS}), the `require`
 * shim's node:module, replaced by `process.getBuiltinModule` at the first require (of node:events
 * by tar-stream, when an archive is first read), and semver's read of `process`, replaced by the
 * same check through `Deno.env`. Each must be found as written here, or the build stops.
 */
function withoutNodeLayerAtLoad(code: string): string {
  for (const [what, text] of [["require shim", REQUIRE_SHIM], ["semver's NODE_DEBUG check", SEMVER_DEBUG_PROBE]]) {
    if (code.split(text!).length !== 2) {
      throw new Error(`the commands part has no ${what} as scripts/bundle.ts knows it`);
    }
  }
  const required = [...code.matchAll(/\b__require\(([^)]*)\)/g)].map((m) => m[1]!);
  const odd = required.find((arg) => !/^"node:[a-z_/]+"$/.test(arg));
  if (odd) throw new Error(`the commands part requires ${odd}, not a node: built-in: look at scripts/bundle.ts`);
  const rewritten = code
    .replace(REQUIRE_SHIM, "var __require = (id) => globalThis.process.getBuiltinModule(id);\n")
    .replace(
      SEMVER_DEBUG_PROBE,
      '(() => { try { return /\\bsemver\\b/i.test(Deno.env.get("NODE_DEBUG") ?? ""); } catch { return false; } })()',
    );
  const imported = [...rewritten.matchAll(/^import\b[^;\n]*"node:([a-z_/]+)";$/gm)].map((m) => m[1]!);
  const loading = imported.find((module) => !COMMANDS_PART_NODE_IMPORTS.includes(module));
  if (loading) throw new Error(`the commands part imports node:${loading} as it loads: import it where it is used`);
  return rewritten;
}

/** `deno bundle` of `entry` into `out`, with `flags` */
async function denoBundle(entry: string, out: string, flags: string[] = []): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", ...flags, "--output", out, entry],
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
}

/**
 * The bundle of `entry`, written to `out` on the way. A part (`minify`) is minified by a second
 * pass over the first one's output, names kept (errors and libraries read them): V8 keeps a
 * script's source in the heap, and 8 bytes per line once a stack trace asks for a position, for
 * as long as the process runs. Bundling and minifying in one pass leaves out the `require` shim
 * that npm packages written as CommonJS need (see the top of this file); the second pass bundles
 * a file that has it.
 */
async function bundle(
  entry: string,
  out: string,
  opts: { minify?: boolean; rewrite?: (code: string) => string } = {},
): Promise<string> {
  await denoBundle(entry, out);
  if (opts.rewrite) await Deno.writeTextFile(out, opts.rewrite(await Deno.readTextFile(out)));
  if (opts.minify) {
    const plain = `${out}.plain.js`;
    await Deno.rename(out, plain);
    await denoBundle(plain, out, ["--minify", "--keep-names"]);
  }
  return latin1Source(compactNumberArrays(await Deno.readTextFile(out)), entry);
}

/** Every file under `dir`, by path relative to it */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const path = join(d, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile) files[relative(dir, path)] = await Deno.readTextFile(path);
    }
  };
  await walk(dir);
  return files;
}

try {
  // The parts the CLI loads by a computed URL (so the CLI's bundle leaves them out), by name
  const parts: Record<string, string> = {
    p2p_worker: await bundle(join(root, "workers", "p2p_worker.ts"), join(work, "p2p_worker.js"), { minify: true }),
    server: await bundle(join(root, "src", "cli", "server_commands.ts"), join(work, "server.js"), { minify: true }),
    commands: await bundle(join(root, "src", "cli", "commands.ts"), join(work, "commands.js"), {
      minify: true,
      rewrite: withoutNodeLayerAtLoad,
    }),
    dashboard: await bundle(join(root, "src", "p2p", "dashboard", "assets.ts"), join(work, "dashboard.js")),
  };
  const cli = await withNodeHost(await withCommanderHost(await bundle(join(root, "main.ts"), join(work, "ggen.js"))));
  const digests = Object.fromEntries(
    Object.entries(parts).map(([name, code]) => [name, createHash("sha256").update(code).digest("hex")]),
  );
  const examples = await filesUnder(join(root, "examples"));
  // Statements before the bundle's own: import declarations are hoisted, and none of them reads these
  const prelude = `globalThis[Symbol.for(${JSON.stringify(EMBEDDED_KEY)})] = ${JSON.stringify(digests)};\n` +
    `globalThis[Symbol.for(${JSON.stringify(EMBEDDED_EXAMPLES_KEY)})] = ${JSON.stringify(examples)};\n`;
  // Each part in a closing comment: base64 holds no "*/". Compressed, as Deno reads the whole file at
  // every start and V8 keeps it in the heap for as long as the process runs: Brotli at its best
  // quality, about a fifth smaller than gzip here; read back with DecompressionStream("brotli")
  let trailer = "";
  for (const [name, code] of Object.entries(parts)) {
    const source = new TextEncoder().encode(code);
    const compressed = brotliCompressSync(source, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
        [zlib.BROTLI_PARAM_LGWIN]: zlib.BROTLI_MAX_WINDOW_BITS,
        [zlib.BROTLI_PARAM_SIZE_HINT]: source.length,
      },
    });
    const b64 = toBase64(compressed).replace(/.{1,76}/g, "$&\n");
    trailer += `\n${EMBEDDED_MARKER}${name}:${digests[name]}\n${b64}*/\n`;
  }
  await Deno.mkdir(dirname(output), { recursive: true });
  await Deno.writeTextFile(output, latin1Source(prelude, "the examples") + cli + trailer);
  const size = (await Deno.stat(output)).size;
  const named = Object.entries(digests).map(([name, sha256]) => `${name} ${sha256.slice(0, 12)}`).join(", ");
  console.error(`Bundled ${output} (${(size / 1024 / 1024).toFixed(1)} MiB; ${named})`);
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
