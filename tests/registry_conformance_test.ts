/**
 * Every Registry implementation runs one conformance suite (src/registry/client/_conformance.ts):
 * memory, hybrid, central (a real server) and P2P (two
 * real libp2p nodes in workers). Then hybrid's fallback, circuit breaker and error mapping,
 * fast, over the memory registry and its flaky twin.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { NotFoundError, TrustError, UnavailableError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { versionFromManifest } from "../src/core/package.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import {
  createCentralRegistry,
  createFlakyRegistry,
  createHybridRegistry,
  createMemoryRegistry,
  createP2PRegistry,
  hedgeDelay,
} from "../src/registry/client/mod.ts";
import type { Registry } from "../src/core/registry.ts";
import { type ConformancePackage, registryConformance } from "../src/registry/client/_conformance.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { createPackageCache } from "../src/store/mod.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { tempDir, writePackage } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";

async function packages(dir: string) {
  await generateKey(dir, "k");
  const signer = await loadSigner(dir, "k");
  const out: ConformancePackage[] = [];
  for (const version of ["1.0.0", "1.1.0"]) {
    const packed = await packDirectory(await writePackage(join(dir, `pkg-${version}`), { id: "io.conf.pkg", version }));
    out.push({
      version: await signVersion(versionFromManifest(packed.manifest, packed), signer, out.length + 1),
      tarball: packed.bytes,
    });
  }
  return { signer, packages: out };
}

Deno.test("registry conformance: memory, hybrid, central, p2p", async (t) => {
  await using work = await tempDir();
  const { signer, packages: pkgs } = await packages(work.path);

  await registryConformance(t, () => {
    const registry = createMemoryRegistry();
    return Promise.resolve({
      registry,
      publish: (p) => Promise.resolve(registry.add(p.version, p.tarball)),
      close: () => Promise.resolve(),
    });
  }, pkgs);

  await registryConformance(t, () => {
    const central = createMemoryRegistry("central");
    const registry = createHybridRegistry({
      logger: silentLogger,
      // Answers come from the first backend; fallback is the next test's subject
      backends: [central, createMemoryRegistry("p2p")],
    });
    return Promise.resolve({
      registry,
      publish: (p) => Promise.resolve(central.add(p.version, p.tarball)),
      close: () => Promise.resolve(),
    });
  }, pkgs);

  await registryConformance(t, async () => {
    const server = await startRegistryServer({ logger: silentLogger }, {
      dataDir: join(work.path, "central"),
      port: 0,
      rateLimits: {},
    });
    const token = (await createToken(server.metadata)).token;
    const registry = createCentralRegistry({ logger: silentLogger }, { url: server.url, token });
    return {
      registry,
      publish: async (p) => void await registry.publish(p.tarball, p.version),
      close: () => server.stop(),
    };
  }, pkgs);

  await registryConformance(t, async () => {
    const homeA = join(work.path, "p2p-a");
    const homeB = join(work.path, "p2p-b");
    const a = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(homeA));
    const b = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(homeB));
    await b.dial(a.listenAddrs[0]!);
    for (let i = 0; i < 100 && (await b.status()).routingTableSize === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const publisher = createP2PRegistry({ logger: silentLogger, node: a }, { peerId: a.peerId });
    const cacheA = createPackageCache({ logger: silentLogger }, { home: homeA });
    return {
      registry: createP2PRegistry({ logger: silentLogger, node: b }, { peerId: b.peerId }),
      publish: async (p) => {
        await cacheA.put(ReadableStream.from([p.tarball]), p.version.sha256);
        await publisher.publish(p.tarball, p.version, { signer });
      },
      close: async () => {
        await b.stop();
        await a.stop();
      },
    };
  }, pkgs);
});

Deno.test("hybrid over flaky backends: fallback, circuit breaker, errors kept", async () => {
  const { packages: pkgs } = await packages(await Deno.makeTempDir());
  const good = createMemoryRegistry("p2p");
  for (const p of pkgs) good.add(p.version, p.tarball);
  const down = createFlakyRegistry(createMemoryRegistry("central"));
  const lines: string[] = [];
  const logger = { ...silentLogger, child: () => ({ ...silentLogger, warn: (m: string) => lines.push(m) }) };
  const hybrid = createHybridRegistry({ logger, backends: [down, good] }, { offlineMs: 60_000 });

  assert.equal((await hybrid.info("io.conf.pkg")).versions.length, 2, "answered by the second backend");
  assert.equal(down.calls(), 1);
  await hybrid.info("io.conf.pkg");
  assert.equal(down.calls(), 1, "the circuit breaker skips an unavailable backend");
  assert.equal(lines.filter((l) => /unavailable/.test(l)).length, 1, "said once");

  const bothMissing = createHybridRegistry({
    logger: silentLogger,
    backends: [createMemoryRegistry("central"), createMemoryRegistry("p2p")],
  });
  const notFound = await bothMissing.info("io.none.pkg").catch((e) => e);
  assert.ok(notFound instanceof NotFoundError);
  assert.ok(notFound.cause instanceof AggregateError && notFound.cause.errors.length === 2);

  const allDown = createHybridRegistry({
    logger: silentLogger,
    backends: [createFlakyRegistry(createMemoryRegistry("central")), createFlakyRegistry(good)],
  });
  const unavailable = await allDown.info("io.conf.pkg").catch((e) => e);
  assert.ok(unavailable instanceof UnavailableError);
  assert.equal((unavailable.cause as AggregateError).errors.length, 2, "each backend's error is kept");

  const hostile = createHybridRegistry({
    logger: silentLogger,
    backends: [createFlakyRegistry(good, { error: () => new TrustError("bad signature") }), good],
  });
  await assert.rejects(hostile.info("io.conf.pkg"), TrustError, "a trust failure never falls back");
});

Deno.test("hybrid hedging: a silent central is abandoned for the next backend; the delay adapts", async () => {
  const { packages: pkgs } = await packages(await Deno.makeTempDir());
  const good = createMemoryRegistry("p2p");
  for (const p of pkgs) good.add(p.version, p.tarball);
  let abandoned: unknown;
  // A black-holed central: answers nothing until its caller gives up
  const silent: Registry = {
    name: "central",
    search: () => new Promise(() => {}),
    open: () => new Promise(() => {}),
    info: (_id, o) =>
      new Promise((_resolve, reject) => {
        o?.signal?.addEventListener("abort", () => {
          abandoned = o.signal!.reason;
          reject(o.signal!.reason);
        }, { once: true });
      }),
  };
  const saved: Record<string, number>[] = [];
  const hybrid = createHybridRegistry({ logger: silentLogger, backends: [silent, good] }, {
    hedgeMs: 50,
    health: { load: () => ({}), save: (s) => void saved.push(s) },
  });
  assert.equal((await hybrid.info("io.conf.pkg")).versions.length, 2, "answered by the hedge");
  assert.ok(abandoned instanceof UnavailableError, "the silent central was aborted");
  assert.ok(Object.keys(saved.at(-1) ?? {}).some((k) => k.startsWith("central")), "the breaker remembers it");
  // A central that answers is never hedged, and its latency is remembered for the adaptive delay
  const fast = createMemoryRegistry("central");
  for (const p of pkgs) fast.add(p.version, p.tarball);
  const store: Record<string, number> = {};
  const quick = createHybridRegistry({ logger: silentLogger, backends: [fast, good] }, {
    health: { load: () => store, save: (s) => Object.assign(store, s) },
  });
  await quick.info("io.conf.pkg");
  assert.ok(Object.keys(store).some((k) => k.startsWith("latency central")));
  // Two hybrids share one store (a command has two, and commands follow one another): what one
  // saves, the other's later save keeps
  const shared: Record<string, number> = {};
  const health = {
    load: () => ({ ...shared }),
    save: (state: Record<string, number>) => {
      for (const k of Object.keys(shared)) delete shared[k];
      Object.assign(shared, state);
    },
  };
  const metadataFirst = createHybridRegistry({ logger: silentLogger, backends: [silent, good] }, {
    hedgeMs: 50,
    health,
  });
  const bytesFirst = createHybridRegistry({ logger: silentLogger, backends: [fast, good] }, { health });
  await metadataFirst.info("io.conf.pkg");
  await bytesFirst.info("io.conf.pkg");
  assert.ok((shared["central"] ?? 0) > Date.now(), "the breaker one hybrid saved is kept");
  assert.ok(shared["latency central"] !== undefined, "beside the latency the other saved");
  assert.equal(hedgeDelay(undefined), 300);
  assert.equal(hedgeDelay(10), 150);
  assert.equal(hedgeDelay(100), 400);
  assert.equal(hedgeDelay(5000), 2000);
});
