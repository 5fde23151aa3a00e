/**
 * Tampering on every delivery path: one byte flipped at N random offsets over HTTP, over P2P and
 * in the cache, plus truncated and over-long bodies. Every delivery is refused before anything is
 * extracted; the cache path evicts and refetches good bytes. Prints the counts.
 */
import { recordFigure } from "./figures.ts";
import { waitForPeers } from "../src/p2p/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { IntegrityError, TooLargeError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { versionFromManifest } from "../src/core/package.ts";
import { startWorkerNode } from "../src/p2p/mod.ts";
import { createCentralRegistry, createP2PRegistry } from "../src/registry/client/mod.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { createPackageCache } from "../src/store/mod.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { ensureCached } from "../src/cli/install.ts";
import { createOutput } from "../src/cli/output.ts";
import { ggen, randomBytes, tempDir, writePackage } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";

const N = Number(Deno.env.get("GGEN_TAMPER_N") ?? 8);

Deno.test("tampering: flipped, truncated and over-long bytes are refused on HTTP, P2P and cache paths", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: {},
  });
  const { token } = await createToken(server.metadata);
  const dir = await writePackage(join(work.path, "pkg"), { id: "io.tamper.pkg", version: "1.0.0" });
  const noise = randomBytes(200_000);
  await Deno.writeFile(join(dir, "templates", "noise.bin"), noise);
  const packed = await packDirectory(dir);
  await generateKey(work.path, "k");
  const version = await signVersion(versionFromManifest(packed.manifest, packed), await loadSigner(work.path, "k"), 1);
  await createCentralRegistry({ logger: silentLogger }, { url: server.url, token }).publish(packed.bytes, version);
  const offsets = Array.from({ length: N }, () => Math.floor(Math.random() * packed.size));
  const flip = (at: number) => {
    const b = packed.bytes.slice();
    b[at]! ^= 0x5a;
    return b;
  };
  let deliveries = 0;
  let extracted = 0;

  // HTTP: a proxy in front of the registry tampers with blob bodies
  let body: (original: Uint8Array) => Uint8Array = (b) => b;
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const res = await fetch(server.url + url.pathname + url.search, { headers: req.headers });
    if (!url.pathname.includes("/blobs/")) return res;
    return new Response(body(new Uint8Array(await res.arrayBuffer())) as Uint8Array<ArrayBuffer>);
  });
  try {
    const env = { GGEN_REGISTRY: `http://127.0.0.1:${proxy.addr.port}`, GGEN_MODE: "central" };
    const tampers: [string, (b: Uint8Array) => Uint8Array][] = [
      ...offsets.map((at) => [`flip@${at}`, () => flip(at)] as [string, (b: Uint8Array) => Uint8Array]),
      ["truncated", (b) => b.subarray(0, b.length >> 1)],
      ["over-long", (b) => new Uint8Array([...b, 1, 2, 3])],
    ];
    for (const [name, fn] of tampers) {
      body = fn;
      const project = join(work.path, `http-${name}`);
      await Deno.mkdir(project);
      const r = await ggen(["install", "io.tamper.pkg"], { home: join(project, "home"), cwd: project, env });
      deliveries++;
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      assert.match(r.stderr, /Checksum mismatch|more than the expected/);
      try {
        Deno.statSync(join(project, ".ggen", "packages", "io.tamper.pkg"));
        extracted++;
      } catch { /* nothing installed */ }
      assert.deepEqual([...Deno.readDirSync(join(project, "home", "cache", "sha256"))], []);
    }

    // P2P: a peer serves the blob with one byte flipped
    const serverHome = join(work.path, "peer");
    await Deno.mkdir(join(serverHome, "cache", "sha256"), { recursive: true });
    const init = (home: string) => loopbackNodeInit(home);
    await Deno.writeFile(join(serverHome, "cache", "sha256", packed.sha256), flip(offsets[0]!));
    const peer = await startWorkerNode({ logger: silentLogger }, init(serverHome));
    try {
      await peer.provide(packed.sha256);
      // A fresh client per delivery: a peer that sends bad bytes three times is banned, which
      // would end the experiment early
      for (const at of offsets) {
        await Deno.writeFile(join(serverHome, "cache", "sha256", packed.sha256), flip(at));
        const client = await startWorkerNode({ logger: silentLogger }, init(join(work.path, `client-${at}`)));
        try {
          await client.dial(peer.listenAddrs[0]!);
          await waitForPeers(client, 1, 2500);
          const p2p = createP2PRegistry({ logger: silentLogger, node: client }, { peerId: client.peerId });
          const cache = createPackageCache({ logger: silentLogger }, { home: join(work.path, `p2p-${at}`) });
          const ctx = { logger: silentLogger, out: createOutput({ json: true }), signal: new AbortController().signal };
          await assert.rejects(
            ensureCached(ctx, p2p, cache, version),
            (err: Error) => err instanceof IntegrityError || err instanceof TooLargeError,
          );
          deliveries++;
          assert.deepEqual(await cache.list(), []);
        } finally {
          await client.stop();
        }
      }
    } finally {
      await peer.stop();
    }

    // Cache: a flipped byte on disk is evicted and good bytes are fetched again
    const central = createCentralRegistry({ logger: silentLogger }, { url: server.url });
    for (const at of offsets) {
      const home = join(work.path, `cache-${at}`);
      const cache = createPackageCache({ logger: silentLogger }, { home });
      const path = await cache.put(ReadableStream.from([packed.bytes]), packed.sha256);
      await Deno.writeFile(path, flip(at));
      deliveries++;
      const ctx = { logger: silentLogger, out: createOutput({ json: true }), signal: new AbortController().signal };
      const got = await ensureCached(ctx, central, cache, version);
      assert.equal(got.source, "central");
      assert.deepEqual(await Deno.readFile(got.path), packed.bytes);
    }
    console.log(
      `  tampering: ${deliveries} tampered deliveries (${N} offsets x HTTP, P2P, cache + truncated + over-long), ${extracted} extracted`,
    );
    await recordFigure(
      "tamper",
      String(
        `  tampering: ${deliveries} tampered deliveries (${N} offsets x HTTP, P2P, cache + truncated + over-long), ${extracted} extracted`,
      ).trim(),
    );
    assert.equal(extracted, 0);
  } finally {
    await proxy.shutdown();
    await server.stop();
  }
});
