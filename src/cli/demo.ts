/**
 * `ggen demo`: a local registry with the example packages, then search and install against it,
 * in a temporary directory, so a new user sees the whole path in one command.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { packDirectory } from "../archive/mod.ts";
import { versionFromManifest } from "../core/mod.ts";
import { createCentralRegistry } from "../registry/client/mod.ts";
import { createToken, startRegistryServer } from "../registry/server/mod.ts";
import { createPackageCache, readLockfile } from "../store/mod.ts";
import { generateKey, loadSigner, signVersion } from "../trust/mod.ts";
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
    // The demo keeps its keys, trust pins and cache in its own home, not the user's
    const home = join(work, "home");
    const key = await generateKey(home, "demo");
    const signer = await loadSigner(home, "demo");
    ctx.out.line(`   Generated the signing key "demo" ${key.keyid}`);
    const dirs: string[] = [];
    for await (const e of Deno.readDir(EXAMPLES_DIR)) if (e.isDirectory) dirs.push(join(EXAMPLES_DIR, e.name));
    dirs.sort();
    for (const dir of dirs) {
      const packed = await packDirectory(dir);
      const signed = await signVersion(versionFromManifest(packed.manifest, packed), signer, Date.now());
      const v = await central.publish(packed.bytes, signed, { signal: ctx.signal });
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
    const demoCtx: Context = {
      ...ctx,
      config: { ...ctx.config, home },
      cache: createPackageCache({ logger: ctx.logger }, { home }),
      central: () => central,
      registry: () => Promise.resolve(central),
    };
    for (const p of await installPackages(demoCtx, ["io.ggen.rust.cli"])) {
      ctx.out.result(p, `     installed ${p.id}@${p.version} -> .ggen/packages/${p.id}/${p.version}/`);
    }
    const lock = await readLockfile(project);
    ctx.out.line(
      `5. ggen.lock records ${lock.packages.length} packages, each with its publisher key; try it yourself:`,
    );
    ctx.out.line(`     deno task start registry serve --data ./ggen-registry`);
  } finally {
    Deno.chdir(previousCwd);
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
