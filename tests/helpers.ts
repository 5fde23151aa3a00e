/**
 * Test helpers: run the real `ggen` CLI as a subprocess, make temp dirs and packages.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { v8FlagSet } from "../src/core/embedded.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MAIN = join(ROOT, "main.ts");
/** ggen's permission scopes, as the launcher of scripts/install.sh grants them */
export const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
/** The daemon's (`p2p start`) V8 flags: a young generation of 1 MiB semi-spaces (why: scripts/install.sh) */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=1";
/** The V8 flags of commands that end: also every function compiled at once (why: scripts/install.sh) */
export const COMMAND_V8_FLAGS = "--v8-flags=--max-semi-space-size=1,--no-lazy";
/** The `deno run` flags of every ggen command that ends but `registry serve`: its V8 flags and permissions */
export const RUN_FLAGS = [COMMAND_V8_FLAGS, ...PERMISSIONS];

/**
 * The `deno run` flags the launcher of scripts/install.sh gives `ggen ARGS`: {@link RUN_FLAGS};
 * for `p2p start` (a daemon) {@link V8_FLAGS} instead, and for `registry serve` no V8 flags (the
 * launcher says why)
 */
export function runFlags(args: readonly string[]): string[] {
  const set = v8FlagSet(args);
  if (set === "serve") return [...PERMISSIONS];
  if (set === "daemon") return [V8_FLAGS, ...PERMISSIONS];
  return [...RUN_FLAGS];
}

/**
 * The environment a test or benchmark runs `ggen` in: its own GGEN_HOME, no colours, no mDNS, and
 * (every test node is on 127.0.0.1) the per-IP caps that protect real deployments lifted; `env` on top
 */
export function cliEnv(home: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    GGEN_HOME: home,
    NO_COLOR: "1",
    GGEN_MDNS: "0",
    GGEN_P2P_MAX_CONN_PER_IP: "1000",
    GGEN_P2P_MAX_ROUTING_PER_IP: "1000",
    ...env,
  };
}

/** Result of one CLI run */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `ggen args...` with its own GGEN_HOME */
export async function ggen(
  args: string[],
  opts: {
    home: string;
    cwd?: string;
    env?: Record<string, string>;
    signal?: AbortSignal;
    /** The CLI's entry point: main.ts, or a single-file build. @default MAIN */
    main?: string;
  },
): Promise<RunResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...runFlags(args), opts.main ?? MAIN, ...args],
    cwd: opts.cwd ?? opts.home,
    env: cliEnv(opts.home, opts.env),
    stdout: "piped",
    stderr: "piped",
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const out = await cmd.output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** Parse JSON lines */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l));
}

/** Write a package directory with a manifest and a file */
export async function writePackage(
  dir: string,
  m: {
    id: string;
    version: string;
    description?: string;
    deps?: Record<string, string>;
    tags?: string[];
    extra?: string;
  },
): Promise<string> {
  await Deno.mkdir(join(dir, "templates"), { recursive: true });
  const deps = Object.entries(m.deps ?? {}).map(([k, v]) => `"${k}" = "${v}"`).join("\n");
  await Deno.writeTextFile(
    join(dir, "ggen.toml"),
    `[package]
id = "${m.id}"
name = "${m.id} templates"
version = "${m.version}"
description = "${m.description ?? `Templates of ${m.id}`}"
authors = ["test"]
license = "MIT"
tags = ${JSON.stringify(m.tags ?? ["test"])}
keywords = ["template"]
category = "test"

[dependencies]
${deps}
`,
  );
  await Deno.writeTextFile(join(dir, "templates", "file.tmpl"), `${m.id}@${m.version}\n${m.extra ?? ""}`);
  return dir;
}

/**
 * Send `signal` to `child` and wait for it, at most `ms`: then SIGKILL. The suite never waits
 * unbounded on a process; `killed` says the process ignored the signal (a bug the caller asserts).
 */
export async function stopChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGINT",
  ms = 20_000,
): Promise<Deno.CommandStatus & { killed: boolean }> {
  let killed = false;
  try {
    child.kill(signal);
  } catch { /* already exited */ }
  const timer = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, ms);
  const status = await child.status;
  clearTimeout(timer);
  return { ...status, killed };
}

/** A temp dir removed by `using` */
export async function tempDir(prefix = "ggen-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () =>
      Deno.env.get("KEEP") ? Promise.resolve() : Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** `n` random bytes (getRandomValues fills at most 64 KiB per call) */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}

/**
 * PUT a signed tarball to a registry the way `ggen publish` does, as a raw request (for tests of
 * the HTTP API itself)
 */
export function putSignedVersion(
  registryUrl: string,
  token: string,
  tarball: { bytes: Uint8Array; sha256: string },
  v: { id: string; version: string; signature?: unknown; publisher_key?: string },
): Promise<Response> {
  return fetch(`${registryUrl}/api/v1/packages/${encodeURIComponent(v.id)}/${encodeURIComponent(v.version)}`, {
    method: "PUT",
    body: tarball.bytes as Uint8Array<ArrayBuffer>,
    headers: {
      authorization: `Bearer ${token}`,
      "x-ggen-sha256": tarball.sha256,
      "x-ggen-signature": btoa(JSON.stringify(v.signature)),
      "x-ggen-public-key": v.publisher_key ?? "",
    },
  });
}
