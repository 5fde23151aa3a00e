/**
 * A hand-written malicious registry for attack tests: a real HTTP server on loopback whose
 * answers the test writes, starting from a copy of what a real registry answers.
 * @module
 */
import { join } from "node:path";
import { apiPaths } from "../src/core/api.ts";
import type { PackageInfo } from "../src/core/package.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, type RegistryServer, startRegistryServer } from "../src/registry/server/mod.ts";
import { ggen, writePackage } from "./helpers.ts";

/** A route answer: a Response, or undefined to pass the request to the real registry */
export type Route = (req: Request, url: URL) => Promise<Response | undefined> | Response | undefined;

/** A running hostile registry */
export interface HostileRegistry extends AsyncDisposable {
  readonly url: string;
  /** Requests seen, for assertions */
  readonly seen: Request[];
}

/**
 * Serve `route` on loopback; anything it leaves unanswered is proxied to `upstream` (a real
 * registry), so an attack changes one answer and keeps the rest real.
 */
export async function hostileRegistry(route: Route, upstream?: string): Promise<HostileRegistry> {
  const seen: Request[] = [];
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, async (req) => {
    seen.push(req.clone());
    const url = new URL(req.url);
    const answer = await route(req, url);
    if (answer) return answer;
    if (!upstream) return Response.json({ code: "NotFoundError", message: "nothing here" }, { status: 404 });
    const res = await fetch(upstream + url.pathname + url.search, {
      method: req.method,
      headers: req.headers,
      ...(req.body ? { body: await req.arrayBuffer() } : {}),
      redirect: "manual",
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  const port = await ready.promise;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A real registry with a token, and a helper that publishes a package to it with the CLI */
export async function realRegistry(dir: string): Promise<
  {
    server: RegistryServer;
    token: string;
    publish: (
      home: string,
      m: { id: string; version: string; deps?: Record<string, string>; description?: string },
    ) => Promise<void>;
  } & AsyncDisposable
> {
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(dir, "registry"),
    port: 0,
    rateLimits: {},
  });
  const token = (await createToken(server.metadata, { name: "t" })).token;
  let n = 0;
  return {
    server,
    token,
    async publish(home, m) {
      const pkg = await writePackage(join(dir, `pkg-${n++}`), m);
      const r = await ggen(["publish", pkg], { home, env: { GGEN_REGISTRY: server.url, GGEN_TOKEN: token } });
      if (r.code !== 0) throw new Error(`publish ${m.id}@${m.version} failed: ${r.stderr}`);
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
}

/** The real registry's package document, for a hostile registry to alter */
export async function realInfo(url: string, id: string): Promise<PackageInfo> {
  return await (await fetch(url + apiPaths.package(id))).json() as PackageInfo;
}
