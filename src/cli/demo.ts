/**
 * `ggen demo`: a local registry with the example packages, then search and install against it;
 * then the point of ggen: two local P2P nodes, the registry stopped, and the same package
 * installed on a fresh machine from the peer that holds it, saying where each byte came from.
 * All in a temporary directory, so a new user sees the whole path in one command.
 * @module
 */
import { join } from "node:path";
import { packDirectory } from "../archive/mod.ts";
import { versionFromManifest } from "../core/mod.ts";
import {
  announcementOf,
  selfProvider,
  startWorkerNode,
  versionKey,
  versionRecordOf,
  waitForPeers,
} from "../p2p/mod.ts";
import { createCentralRegistry, createHybridRegistry, createP2PRegistry } from "../registry/client/mod.ts";
import { createToken, startRegistryServer } from "../registry/server/mod.ts";
import { createPackageCache, openMetadataCache, readLockfile } from "../store/mod.ts";
import { generateKey, loadSigner, openTrustStore, signVersion, verifyMetadata } from "../trust/mod.ts";
import type { Context } from "./context.ts";
import { workerInit } from "./node_init.ts";
import { examplesDir } from "./examples.ts";
import { installPackages } from "./install.ts";

/** Run the demo */
export async function demoCommand(ctx: Context): Promise<void> {
  // The demo's installs share nothing with the user's daemon
  const { afterFetch: _userDaemon, ...base } = ctx;
  const work = await Deno.makeTempDir({ prefix: "ggen-demo-" });
  const server = await startRegistryServer({ logger: ctx.logger }, { dataDir: join(work, "registry"), port: 0 });
  let serverUp = true;
  const previousCwd = Deno.cwd();
  const nodes: { stop(): Promise<void> }[] = [];
  try {
    ctx.out.line(`1. Started a local registry at ${server.url} (SQLite + blobs in ${work}/registry)`);
    const { token } = await createToken(server.metadata, { name: "demo" });
    const central = createCentralRegistry({ logger: ctx.logger }, { url: server.url, token });
    // The demo keeps its keys, trust pins and cache in its own home, not the user's
    const home = join(work, "home");
    const key = await generateKey(home, "demo");
    const signer = await loadSigner(home, "demo");
    ctx.out.line(`   Generated the signing key "demo" ${key.keyid}`);
    const dirs: string[] = [];
    const examples = await examplesDir(work);
    for await (const e of Deno.readDir(examples)) if (e.isDirectory) dirs.push(join(examples, e.name));
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
      ...base,
      config: { ...ctx.config, home },
      cache: createPackageCache({ logger: ctx.logger }, { home }),
      metadata: openMetadataCache({ home }),
      central: () => central,
      registry: () => Promise.resolve(central),
    };
    for (const p of await installPackages(demoCtx, ["io.ggen.rust.cli"])) {
      ctx.out.result(p, `     installed ${p.id}@${p.version} -> .ggen/packages/${p.id}/${p.version}/`);
    }
    const lock = await readLockfile(project);
    ctx.out.line(`5. ggen.lock records ${lock.packages.length} packages, each with its publisher key`);

    // The point of ggen: the registry goes away and the LAN still has the packages
    const nodeInit = async (nodeHome: string, bootstrap: string[]) => ({
      ...await workerInit({ ...ctx.config, home: nodeHome }, { reprovideIntervalMs: 0 }),
      listenAddrs: ["/ip4/127.0.0.1/tcp/0"],
      bootstrap,
      mdns: false,
    });
    const holder = await startWorkerNode({ logger: ctx.logger }, await nodeInit(home, []));
    nodes.push(holder);
    const clientHome = join(work, "fresh-machine");
    const client = await startWorkerNode({ logger: ctx.logger }, await nodeInit(clientHome, [holder.listenAddrs[0]!]));
    nodes.push(client);
    await waitForPeers(client, 1, 5000, ctx.signal);
    for (const p of lock.packages) {
      const v = (await central.info(p.id, { signal: ctx.signal })).versions.find((x) => x.version === p.version)!;
      await holder.provide(v.sha256, { signal: ctx.signal });
      const record = versionRecordOf(v, holder.peerId, Date.now(), selfProvider(holder.peerId, holder.listenAddrs));
      await holder.putRecord(versionKey(v.id, v.version), JSON.stringify(record), { signal: ctx.signal });
      await holder.announce(announcementOf(v, holder.peerId), { signal: ctx.signal });
    }
    ctx.out.line(`6. Started two P2P nodes: ${holder.peerId} holds the packages, ${client.peerId} is a fresh machine`);
    const registryKey = (await central.registryKey({ signal: ctx.signal })).public_key;
    await server.stop();
    serverUp = false;
    ctx.out.line(`7. Stopped the registry at ${server.url}`);
    const clientTrust = await openTrustStore(clientHome);
    const p2p = createP2PRegistry({ logger: ctx.logger, node: client }, {
      peerId: client.peerId,
      pinned: (id) => clientTrust.pinned(id),
      // The fresh machine knows the registry's key (from its config or a committed ggen.lock)
      verifyRegistryDocument: (info) => verifyMetadata(info, clientTrust, { configuredKey: registryKey }),
    });
    const fresh = join(work, "fresh-project");
    await Deno.mkdir(fresh);
    Deno.chdir(fresh);
    ctx.out.line(`8. ggen install io.ggen.rust.cli on the fresh machine, central down (in ${fresh})`);
    const freshCtx: Context = {
      ...base,
      config: { ...ctx.config, home: clientHome, registry: { ...ctx.config.registry, publicKey: registryKey } },
      cache: createPackageCache({ logger: ctx.logger }, { home: clientHome }),
      metadata: openMetadataCache({ home: clientHome }),
      central: () => central,
      registry: () => Promise.resolve(createHybridRegistry({ logger: ctx.logger, backends: [central, p2p] })),
    };
    for (const p of await installPackages(freshCtx, ["io.ggen.rust.cli"])) {
      const from = p.source.startsWith("p2p:") ? `peer ${p.source.slice(4)}` : p.source;
      ctx.out.result(
        p,
        `     installed ${p.id}@${p.version}: bytes from ${from}, sha256 and publisher signature verified`,
      );
    }
    ctx.out.line("   Metadata came from the registry's signed document, re-shared by the holder; try it yourself:");
    ctx.out.line(`     deno task start registry serve --data ./ggen-registry`);
  } finally {
    Deno.chdir(previousCwd);
    for (const n of nodes.reverse()) await n.stop().catch(() => {});
    if (serverUp) await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
