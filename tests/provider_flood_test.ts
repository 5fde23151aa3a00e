/**
 * Provider flooding: a hostile peer answers every GET_PROVIDERS on `/ggen/kad/1.0.0` with 10,000
 * fake providers. js kad-dht ends a lookup once it holds kBucketSize providers, so such an answer
 * would crowd out the honest ones: ggen drops any answer with more than 100 providers, bans its
 * sender and looks again. No fake is kept, the install comes from the honest provider, and fewer
 * peers than the cap (20) are dialled before success.
 * The hostile peer speaks the Kademlia wire format written here by hand (protobuf), not js
 * kad-dht, because kad-dht would never send such an answer.
 */
import { recordFigure } from "./figures.ts";
import { waitForPeers } from "../src/p2p/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { type P2PNode, startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { createP2PRegistry } from "../src/registry/client/mod.ts";
import { createPackageCache } from "../src/store/mod.ts";
import { ensureCached } from "../src/cli/install.ts";
import { createOutput } from "../src/cli/output.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { createStockPeer } from "./stock_peer.ts";

const FAKES = 10_000;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const field = (tag: number, bytes: Uint8Array | number[]) => [tag, ...varint(bytes.length), ...bytes];

/** A random, well-formed Ed25519 PeerId (identity multihash of a protobuf public key) */
function fakePeerId(): number[] {
  const key = [0x08, 0x01, 0x12, 0x20, ...crypto.getRandomValues(new Uint8Array(32))];
  return [0x00, key.length, ...key];
}

/** A kad Message answering GET_PROVIDERS with `count` fake providers at unreachable addresses */
function floodResponse(type: number, key: Uint8Array, count: number): Uint8Array {
  const addr = [0x04, 127, 0, 0, 1, 0x06, 0x00, 0x01]; // /ip4/127.0.0.1/tcp/1: refused at once
  const msg: number[] = [0x08, type, ...field(0x12, key)];
  for (let i = 0; i < count; i++) msg.push(...field(0x4a, [...field(0x0a, fakePeerId()), ...field(0x12, addr)]));
  return new Uint8Array([...varint(msg.length), ...msg]);
}

/** Parse `type` and `key` from a length-prefixed kad request */
function parseRequest(buf: Uint8Array): { type: number; key: Uint8Array } | undefined {
  let i = 0;
  const readVarint = () => {
    let n = 0;
    let shift = 0;
    while (i < buf.length) {
      const b = buf[i++]!;
      n |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return n;
      shift += 7;
    }
    return -1;
  };
  const len = readVarint();
  if (len < 0 || buf.length < i + len) return undefined;
  const end = i + len;
  let type = 0;
  let key = new Uint8Array(0);
  while (i < end) {
    const tag = readVarint();
    if ((tag & 7) === 0) {
      const v = readVarint();
      if (tag >> 3 === 1) type = v;
    } else if ((tag & 7) === 2) {
      const l = readVarint();
      if (tag >> 3 === 2) key = buf.slice(i, i + l);
      i += l;
    } else return { type, key };
  }
  return { type, key };
}

Deno.test("provider flooding: 10,000 fake providers from one peer do not hide the honest one", async () => {
  await using work = await tempDir();
  const blob = crypto.getRandomValues(new Uint8Array(60_000));
  const sha = sha256Hex(blob);
  await Deno.mkdir(join(work.path, "honest", "cache", "sha256"), { recursive: true });
  await Deno.writeFile(join(work.path, "honest", "cache", "sha256", sha), blob);
  const nodes: WorkerNode[] = [];
  // A stock DHT peer (so it joins routing tables) whose Kademlia handler is then replaced by the liar
  const liar = await createStockPeer();
  let floods = 0;
  await liar.handle("/ggen/kad/1.0.0", async (stream) => {
    let buf = new Uint8Array(0);
    for await (const chunk of stream) {
      const c = chunk instanceof Uint8Array ? chunk : chunk.subarray();
      const next = new Uint8Array(buf.length + c.length);
      next.set(buf);
      next.set(c, buf.length);
      buf = next;
      const req = parseRequest(buf);
      if (!req) continue;
      // GET_PROVIDERS (3): the flood; anything else: an empty answer of the same type
      if (req.type === 3) floods++;
      stream.send(floodResponse(req.type, req.key, req.type === 3 ? FAKES : 0));
      break;
    }
    await stream.close().catch(() => {});
  }, { force: true });
  try {
    const honest = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "honest")));
    nodes.push(honest);
    nodes.push(
      await startWorkerNode(
        { logger: silentLogger },
        loopbackNodeInit(join(work.path, "relay"), { bootstrap: [honest.listenAddrs[0]!] }),
      ),
    );
    await honest.provide(sha);
    const client = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "client"), { bootstrap: [nodes[1]!.listenAddrs[0]!] }),
    );
    nodes.push(client);
    await client.dial(`${liar.getMultiaddrs()[0]!.toString()}`);
    await waitForPeers(client, 2, 5000);

    // Count the peers dialled for bytes before the verified transfer
    let dialled = 0;
    const counting = new Proxy(client, {
      get(target, prop) {
        if (prop === "fetch") {
          return (...args: Parameters<P2PNode["fetch"]>) => {
            dialled++;
            return target.fetch(...args);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as P2PNode;
    const t0 = performance.now();
    const found = await client.findProviders(sha, { limit: 20 });
    const lookupMs = performance.now() - t0;
    const registry = createP2PRegistry({ logger: silentLogger, node: counting }, { peerId: client.peerId });
    const ctx = { logger: silentLogger, out: createOutput({ json: true }), signal: new AbortController().signal };
    const version = { id: "io.flood.pkg", version: "1.0.0", sha256: sha, size: blob.length } as PackageVersion;
    const t1 = performance.now();
    const got = await ensureCached(
      ctx,
      registry,
      createPackageCache({ logger: silentLogger }, { home: join(work.path, "cache") }),
      version,
    );
    console.log(
      `  provider flood: ${floods} GET_PROVIDERS answered with ${FAKES} fakes each; lookup kept ${found.length} providers (the flooder was banned and the lookup repeated without it); ${dialled} peers dialled before the verified transfer from ${got.source}; lookup ${
        lookupMs.toFixed(0)
      } ms, install ${(performance.now() - t1).toFixed(0)} ms`,
    );
    await recordFigure(
      "provider-flood",
      String(
        `  provider flood: ${floods} GET_PROVIDERS answered with ${FAKES} fakes each; lookup kept ${found.length} providers (the flooder was banned and the lookup repeated without it); ${dialled} peers dialled before the verified transfer from ${got.source}; lookup ${
          lookupMs.toFixed(0)
        } ms, install ${(performance.now() - t1).toFixed(0)} ms`,
      ).trim(),
    );
    assert.ok(floods >= 1, "the liar was never asked");
    assert.ok(found.length <= 20);
    const fakesKept = found.filter((p) => p.peerId !== honest.peerId).length;
    assert.equal(fakesKept, 0, `${fakesKept} fakes kept`);
    assert.ok((await client.banned()).includes(liar.peerId.toString()), "the flooder was not banned");
    assert.ok(dialled < 20);
    assert.equal(got.source, `p2p:${honest.peerId}`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await liar.stop();
  }
});
