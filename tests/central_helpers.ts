/**
 * A real central registry for CLI tests: a server on a loopback port, a token, a publisher home,
 * and fresh machines (a home and a project, optionally with a committed lock).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, type RegistryServer, startRegistryServer } from "../src/registry/server/mod.ts";
import { ggen, MAIN, runFlags, stopChild, writePackage } from "./helpers.ts";

/** A running central registry and what a test needs to talk to it */
export interface TestCentral {
  server: RegistryServer;
  /** GGEN_REGISTRY and GGEN_TOKEN for CLI runs */
  env: { GGEN_REGISTRY: string; GGEN_TOKEN: string };
  /** Publish `id@version` (a generated package) with the publisher's key */
  publish(id: string, version?: string): Promise<void>;
  /** Stop the server once (later calls do nothing) */
  stop(): Promise<void>;
}

/** Start a central registry under `dir` */
export async function startCentral(dir: string): Promise<TestCentral> {
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(dir, "reg"), port: 0 });
  const { token } = await createToken(server.metadata);
  const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token };
  const publisher = join(dir, "publisher");
  await Deno.mkdir(publisher, { recursive: true });
  let up = true;
  return {
    server,
    env,
    async publish(id, version = "1.0.0") {
      const pkg = await writePackage(join(dir, "packages", `${id}-${version}`), { id, version });
      const r = await ggen(["publish", pkg], { home: publisher, env });
      assert.equal(r.code, 0, r.stderr);
    },
    async stop() {
      if (!up) return;
      up = false;
      await server.stop();
    },
  };
}

/** A fresh machine: an empty home and an empty project, with `lock` as its committed ggen.lock */
export async function freshMachine(
  dir: string,
  name: string,
  lock?: string,
): Promise<{ home: string; project: string }> {
  const home = join(dir, `${name}-home`);
  const project = join(dir, `${name}-project`);
  await Deno.mkdir(home, { recursive: true });
  await Deno.mkdir(project, { recursive: true });
  if (lock !== undefined) await Deno.writeTextFile(join(project, "ggen.lock"), lock);
  return { home, project };
}

/** `ggen registry serve ARGS` in a subprocess; resolves with its URL once it listens */
export async function serveRegistry(args: string[], home: string, env: Record<string, string> = {}, main = MAIN) {
  const serve = ["--json", "registry", "serve", ...args];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...runFlags(serve), main, ...serve],
    env: { GGEN_HOME: home, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`registry serve exited: ${text}`);
    text += value;
  }
  const info = JSON.parse(text.split("\n")[0]!) as { url: string } & Record<string, unknown>;
  return {
    url: info.url,
    /** The first line `registry serve --json` printed */
    info,
    async stop() {
      const status = await stopChild(child);
      await reader.cancel().catch(() => {});
      if (status.killed) throw new Error("the registry did not stop within 20 s of SIGINT");
    },
  };
}
