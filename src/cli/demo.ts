/**
 * `ggen demo`: a local registry with the example packages, then search and install against it,
 * in a temporary directory, so a new user sees the whole path in one command.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { packDirectory } from "../archive/mod.ts";
import { versionFromManifest } from "../core/package.ts";
import { createCentralRegistry } from "../registry/client/mod.ts";
import { createToken, startRegistryServer } from "../registry/server/mod.ts";
import { readLockfile } from "../store/mod.ts";
import type { Context } from "./context.ts";
import { installPackages } from "./install.ts";

const EXAMPLES_DIR = fromFileUrl(new URL("../../examples", import.meta.url));

/** Run the demo */
export async function demoCommand(ctx: Context): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "ggen-demo-" });
  const server = await startRegistryServer({ logger: ctx.logger }, { dataDir: join(work, "registry"), port: 0 });
  const previousCwd = Deno.cwd();
  try {
    ctx.out.line(`1. Started a local registry at ${server.url} (SQLite + blobs in ${work}/registry)`);
    const { token } = createToken(server.metadata, { name: "demo" });
    const central = createCentralRegistry({ logger: ctx.logger }, { url: server.url, token });
    const dirs: string[] = [];
    for await (const e of Deno.readDir(EXAMPLES_DIR)) if (e.isDirectory) dirs.push(join(EXAMPLES_DIR, e.name));
    dirs.sort();
    for (const dir of dirs) {
      const packed = await packDirectory(dir);
      const v = await central.publish(packed.bytes, versionFromManifest(packed.manifest, packed), {
        signal: ctx.signal,
      });
      ctx.out.line(`2. Published ${v.id}@${v.version} sha256:${v.sha256.slice(0, 16)}…`);
    }
    ctx.out.line(`3. ggen search rust`);
    for (const h of await central.search({ text: "rust" }, { signal: ctx.signal })) {
      ctx.out.result(h, `     ${h.id}@${h.version}  ${h.description}`);
    }
    const project = join(work, "project");
    await Deno.mkdir(project);
    Deno.chdir(project);
    ctx.out.line(`4. ggen install io.ggen.rust.cli (in ${project})`);
    const demoCtx: Context = { ...ctx, central: () => central, registry: () => Promise.resolve(central) };
    for (const p of await installPackages(demoCtx, ["io.ggen.rust.cli"])) {
      ctx.out.result(p, `     installed ${p.id}@${p.version} -> .ggen/packages/${p.id}/${p.version}/`);
    }
    const lock = await readLockfile(project);
    ctx.out.line(`5. ggen.lock records ${lock.packages.length} packages; try it yourself:`);
    ctx.out.line(`     deno task start registry serve --data ./ggen-registry`);
  } finally {
    Deno.chdir(previousCwd);
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
