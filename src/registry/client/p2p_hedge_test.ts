/**
 * The hedged provider choice of the P2P registry's `open`, on a scripted node: which peer is asked
 * when, who wins, who is cancelled and who is blamed. (The network paths are tested with real
 * nodes in tests/; this pins the ordering, which timing there cannot.)
 */
import assert from "node:assert/strict";
import { type PackageVersion, silentLogger } from "../../core/mod.ts";
import type { CatalogEntry, P2PNode, ProviderInfo, RankedPeer, VouchedEntry } from "../../p2p/mod.ts";
import { createP2PRegistry } from "./p2p.ts";

const VERSION = { id: "io.hedge.pkg", version: "1.0.0", sha256: "a".repeat(64), size: 3 } as PackageVersion;

/** What each peer does when asked: answer after `ms`, fail after `ms`, or never answer */
type Script = { answer: number } | { fail: number } | "silent";

function scriptedNode(scripts: Record<string, Script>, extra: Partial<Record<keyof P2PNode, unknown>> = {}) {
  const asked: { peer: string; at: number }[] = [];
  const cancelled: string[] = [];
  const blamed: string[] = [];
  const t0 = performance.now();
  const node = {
    // Connected providers, unless a test says otherwise: asked one at a time, hedged
    findProviders: () =>
      Promise.resolve(Object.keys(scripts).map((peerId): ProviderInfo => ({ peerId, addrs: [], reach: "connected" }))),
    penalize: (peer: string, _reason: string, behaviour?: string) => {
      if (behaviour !== "verified-transfer") blamed.push(peer);
      return Promise.resolve();
    },
    fetch: (peer: string, _sha: string, o: { signal?: AbortSignal } = {}) => {
      asked.push({ peer, at: performance.now() - t0 });
      const script = scripts[peer]!;
      return new Promise<ReadableStream<Uint8Array>>((resolve, reject) => {
        o.signal?.addEventListener("abort", () => {
          cancelled.push(peer);
          reject(o.signal!.reason);
        }, { once: true });
        if (script === "silent") return;
        if ("answer" in script) {
          setTimeout(() => resolve(ReadableStream.from([new Uint8Array([1, 2, 3])])), script.answer);
        } else setTimeout(() => reject(new Error(`${peer} refused`)), script.fail);
      });
    },
    ...extra,
  } as unknown as P2PNode;
  return { node, asked, cancelled, blamed };
}

function registry(node: P2PNode, hedgeMs = 50) {
  return createP2PRegistry({ logger: silentLogger, node }, { peerId: "self", hedgeMs, stallMs: 60_000 });
}

Deno.test("p2p open: a silent provider gets company after the hedge delay; the first to answer wins", async () => {
  const s = scriptedNode({ silent: "silent", honest: { answer: 5 } });
  const got = await registry(s.node).open(VERSION);
  await got.body.cancel();
  assert.equal(got.source, "p2p:honest");
  assert.deepEqual(s.asked.map((a) => a.peer), ["silent", "honest"]);
  // Timers never fire early: the second ask came from the hedge timer, not before it
  assert.ok(s.asked[1]!.at >= 45, `the second peer was asked before the hedge delay (${s.asked[1]!.at} ms)`);
  assert.deepEqual(s.cancelled, ["silent"], "the slower attempt is cancelled");
  assert.deepEqual(s.blamed, [], "a peer that was only slower is not blamed");
});

Deno.test("p2p open: a small blob's first two providers are asked together when the first is not connected", async () => {
  const scripts: Record<string, Script> = { asleep: "silent", awake: { answer: 5 }, spare: { answer: 5 } };
  const s = scriptedNode(scripts, {
    findProviders: () =>
      Promise.resolve(Object.keys(scripts).map((peerId): ProviderInfo => ({ peerId, addrs: [], reach: "unknown" }))),
  });
  // A hedge delay no test outlives: the second peer can only have been asked at the start
  const got = await registry(s.node, 3_600_000).open(VERSION);
  await got.body.cancel();
  assert.equal(got.source, "p2p:awake");
  assert.deepEqual(s.asked.map((a) => a.peer), ["asleep", "awake"]);
  assert.deepEqual(s.cancelled, ["asleep"]);
});

Deno.test("p2p open: a provider that fails is replaced at once and blamed", async () => {
  const s = scriptedNode({ broken: { fail: 1 }, honest: { answer: 1 } });
  // A hedge delay no test outlives: the second peer can only have been asked because the first failed
  const got = await registry(s.node, 3_600_000).open(VERSION);
  await got.body.cancel();
  assert.equal(got.source, "p2p:honest");
  assert.deepEqual(s.asked.map((a) => a.peer), ["broken", "honest"]);
  assert.deepEqual(s.blamed, ["broken"]);
});

Deno.test("p2p open: when every provider fails, the error names each", async () => {
  const s = scriptedNode({ a: { fail: 1 }, b: { fail: 1 } });
  await assert.rejects(registry(s.node).open(VERSION), /a: a refused; b: b refused/);
});

/** A node whose peers' catalogs name VERSION, held by `holders` (met in this order) */
function resolvingNode(scripts: Record<string, Script>, holders: string[], connected: string[]) {
  const entry: CatalogEntry = {
    package_id: VERSION.id,
    version: VERSION.version,
    name: "hedge",
    description: "",
    sha256: VERSION.sha256,
    size_bytes: VERSION.size,
    tags: [],
    dependencies: {},
    peer_id: "publisher",
    timestamp: new Date().toISOString(),
  };
  const row: VouchedEntry = { entry, from: holders, holders };
  return scriptedNode(scripts, {
    catalogVersions: () => Promise.resolve([row]),
    getMetadata: () => Promise.resolve([]),
    getRecords: () => Promise.resolve([]),
    // As the worker ranks: connected peers first, the rest in their order
    rankPeers: (ids: string[]) =>
      Promise.resolve(
        [...ids.filter((p) => connected.includes(p)), ...ids.filter((p) => !connected.includes(p))]
          .map((peerId): RankedPeer => ({ peerId, reach: connected.includes(peerId) ? "connected" : "unknown" })),
      ),
  });
}

async function openAfterInfo(node: P2PNode, hedgeMs: number) {
  const p2p = registry(node, hedgeMs);
  const info = await p2p.info(VERSION.id);
  return await p2p.open(info.versions.find((v) => v.version === VERSION.version)!);
}

Deno.test("p2p open: a connected holder met while resolving is asked first, alone", async () => {
  // Met first: a holder gone without refusing (a sleeping host) and one not connected
  const s = resolvingNode({ asleep: "silent", far: { answer: 1 }, near: { answer: 1 } }, [
    "asleep",
    "far",
    "near",
  ], ["near"]);
  // Asked in the order met, the sleeping holder would hold the download for the hedge delay
  const got = await openAfterInfo(s.node, 1000);
  await got.body.cancel();
  assert.equal(got.source, "p2p:near");
  assert.deepEqual(s.asked.map((a) => a.peer), ["near"]);
});

Deno.test("p2p open: with no connected holder, the first two are asked together", async () => {
  const s = resolvingNode({ asleep: "silent", far: { answer: 1 }, spare: { answer: 1 } }, [
    "asleep",
    "far",
    "spare",
  ], []);
  // A hedge delay no test outlives: the second peer can only have been asked at the start
  const got = await openAfterInfo(s.node, 3_600_000);
  await got.body.cancel();
  assert.equal(got.source, "p2p:far");
  assert.deepEqual(s.asked.map((a) => a.peer), ["asleep", "far"]);
  assert.deepEqual(s.cancelled, ["asleep"], "the silent one is cancelled once the other answered");
  assert.deepEqual(s.blamed, [], "nobody is blamed for being slower");
});
