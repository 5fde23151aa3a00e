/**
 * The worker's services without a worker: two real libp2p nodes in this process on loopback,
 * each behind its P2P service, exercising providers, records, the catalog, the fetch protocol
 * with credit, and stop.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex, UnavailableError } from "../../src/core/mod.ts";
import type { PackageVersion } from "../../src/core/mod.ts";
import { announcementOf, encodeJson, versionKey, versionRecordOf, type WorkerToMain } from "../../src/p2p/mod.ts";
import { generateKey, loadSigner, signVersion } from "../../src/trust/mod.ts";
import { loopbackNodeInit } from "../../tests/node_init.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { type P2PService, startP2PService } from "./service.ts";

async function waitFor(what: string, check: () => boolean | Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${attempts} checks`);
}

/**
 * P2P services in one temp dir: `start` one per home, `stop` one early; disposing stops the rest
 * and removes the dir. `posted` collects what they post to the main thread.
 */
async function serviceNetwork(defaults: Parameters<typeof loopbackNodeInit>[1] = {}) {
  const dir = await Deno.makeTempDir();
  const posted: WorkerToMain[] = [];
  const services: P2PService[] = [];
  return {
    dir,
    posted,
    async start(name: string, overrides: Parameters<typeof loopbackNodeInit>[1] = {}) {
      const home = join(dir, name);
      const s = await startP2PService(
        { log: () => {}, post: (m) => posted.push(m) },
        loopbackNodeInit(home, { ...defaults, ...overrides }),
      );
      services.push(s);
      return { s, home };
    },
    async stop(s: P2PService) {
      services.splice(services.indexOf(s), 1);
      await s.stop();
    },
    async [Symbol.asyncDispose]() {
      for (const s of services) await s.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "P2P service in-process: providers, records, catalog, fetch with credit, stop",
  // libp2p keeps sockets in TIME_WAIT bookkeeping a moment after stop
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using network = await serviceNetwork({ reprovideIntervalMs: 60_000 });
    const { dir, posted, start } = network;
    const { s: a, home: homeA } = await start("a");
    const { s: b } = await start("b");
    await b.dial(a.node.getMultiaddrs()[0]!.toString(), AbortSignal.timeout(5000));
    await waitFor("routing tables", () => a.status().routingTableSize > 0 && b.status().routingTableSize > 0);

    const bytes = crypto.getRandomValues(new Uint8Array(50_000));
    const sha256 = sha256Hex(bytes);
    await Deno.writeFile(join(homeA, "cache", "sha256", sha256), bytes);

    await t.step("a connected peer holding a blob it never provided is found directly", async () => {
      const found = await b.providers.findProviders(sha256, 5, AbortSignal.timeout(10_000));
      assert.deepEqual(found.map((p) => p.peerId), [a.node.peerId.toString()]);
      assert.equal(found[0]?.reach, "connected", "the answer says the holder is connected");
      assert.equal(a.status().providedPackages, 0, "no provider record was needed");
    });

    await t.step("a provided blob is found by the other node", async () => {
      await a.provide(sha256, AbortSignal.timeout(10_000));
      const found = await b.providers.findProviders(sha256, 5, AbortSignal.timeout(10_000));
      assert.deepEqual(found.map((p) => p.peerId), [a.node.peerId.toString()]);
      assert.equal(a.status().providedPackages, 1);
    });

    await t.step("an excluded provider is neither returned nor counted, also from the cache", async () => {
      const other = new Set([a.node.peerId.toString()]);
      assert.deepEqual(await b.providers.findProviders(sha256, 1, AbortSignal.timeout(10_000), other), []);
      // The unfiltered answer is still there for a lookup that excludes nobody
      const found = await b.providers.findProviders(sha256, 5, AbortSignal.timeout(10_000));
      assert.deepEqual(found.map((p) => p.peerId), [a.node.peerId.toString()]);
    });

    await t.step(
      "records: a signed record travels; a missing key is empty; a failed lookup is unavailable",
      async () => {
        await generateKey(dir, "k");
        const v: PackageVersion = await signVersion(
          {
            id: "io.svc.pkg",
            version: "1.0.0",
            name: "Pkg",
            description: "d",
            tags: [],
            keywords: [],
            sha256,
            size: bytes.byteLength,
            dependencies: {},
            yanked: false,
            published_at: new Date().toISOString(),
          },
          await loadSigner(dir, "k"),
          1,
        );
        const key = versionKey(v.id, v.version);
        const value = new TextDecoder().decode(encodeJson(versionRecordOf(v, a.node.peerId.toString())));
        await a.records.put(key, value, AbortSignal.timeout(10_000));
        const got = await b.records.get(key, AbortSignal.timeout(10_000));
        assert.equal(got[0]?.value, value);
        assert.deepEqual(await b.records.get(versionKey("io.svc.none", "1.0.0"), AbortSignal.timeout(10_000)), []);
        await assert.rejects(b.records.get(key, AbortSignal.abort()), UnavailableError);

        await a.catalog.announce(announcementOf(v, a.node.peerId.toString()));
        const hits = await b.catalog.search("io.svc.pkg", 5, AbortSignal.timeout(5000));
        assert.equal(hits[0]?.package_id, "io.svc.pkg");
        // Heard as gossip signed by its announcer: a voucher and a holder (a catalog answer
        // only vouches, it does not say who holds the bytes)
        const aId = a.node.peerId.toString();
        await waitFor("the announcement heard", async () => {
          const rows = await b.catalog.versionsOf("io.svc.pkg", AbortSignal.timeout(5000));
          return rows[0]?.holders?.includes(aId) === true;
        });
        const [row] = await b.catalog.versionsOf("io.svc.pkg", AbortSignal.timeout(5000));
        assert.deepEqual(row?.from, [aId]);
        assert.deepEqual(row?.holders, [aId]);
      },
    );

    await t.step("fetch streams chunks under credit and ends; bytes are counted", async () => {
      posted.length = 0;
      await b.fetcher.fetch(
        7,
        { peerId: a.node.peerId.toString(), sha256, offset: 0, stallMs: 5000 },
        AbortSignal.timeout(10_000),
      );
      const chunks = posted.filter((m) => m.type === "chunk" && m.id === 7) as { data: Uint8Array }[];
      const total = chunks.reduce((n, c) => n + c.data.byteLength, 0);
      assert.equal(total, bytes.byteLength);
      assert.ok(posted.some((m) => m.type === "end" && m.id === 7));
      assert.equal(b.status().bytesIn, bytes.byteLength);
      assert.equal(a.status().bytesOut, bytes.byteLength);
    });

    await t.step("rank: a connected peer first, a peer a fetch could not reach last", async () => {
      const gone = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
      const stranger = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
      // A holder whose host refuses: an address nobody listens on
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (closed.addr as Deno.NetAddr).port;
      closed.close();
      await b.node.peerStore.merge(gone, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] });
      await assert.rejects(
        b.fetcher.fetch(
          8,
          { peerId: gone.toString(), sha256, offset: 0, stallMs: 5000 },
          AbortSignal.timeout(10_000),
        ),
      );
      const aId = a.node.peerId.toString();
      assert.deepEqual(b.providers.rank([gone.toString(), stranger, aId]), [
        { peerId: aId, reach: "connected" },
        { peerId: stranger, reach: "unknown" },
        { peerId: gone.toString(), reach: "unreachable" },
      ]);
      // What is not a PeerId ranks as a stranger; nothing throws
      assert.deepEqual(b.providers.rank(["not-a-peer", aId, aId]).map((r) => r.peerId), [aId, "not-a-peer"]);
    });

    await t.step("a lookup for one holder returns every holder that confirmed: spares to fail over to", async () => {
      const { s: c, home: homeC } = await start("c");
      const other = crypto.getRandomValues(new Uint8Array(1000));
      const otherSha = sha256Hex(other);
      await Deno.writeFile(join(homeA, "cache", "sha256", otherSha), other);
      await Deno.writeFile(join(homeC, "cache", "sha256", otherSha), other);
      await b.dial(c.node.getMultiaddrs()[0]!.toString(), AbortSignal.timeout(5000));
      const found = await b.providers.findProviders(otherSha, 1, AbortSignal.timeout(10_000));
      assert.deepEqual(
        found.map((p) => p.peerId).sort(),
        [a.node.peerId.toString(), c.node.peerId.toString()].sort(),
      );
      await network.stop(c);
    });

    await t.step("after a restart with no peers, the peer that served a blob is asked for it first", async () => {
      await network.stop(b);
      const { s: again } = await start("b");
      assert.equal(again.status().routingTableSize, 0);
      assert.equal(again.node.getConnections().length, 0);
      const found = await again.providers.findProviders(sha256, 5, AbortSignal.timeout(10_000));
      assert.deepEqual(found.map((p) => p.peerId), [a.node.peerId.toString()]);
    });
  },
});

Deno.test({
  name: "P2P service in-process: discovered peers are dialled only below discoveryDialLimit",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using network = await serviceNetwork();
    const start = async (name: string, overrides: Parameters<typeof loopbackNodeInit>[1] = {}) =>
      (await network.start(name, overrides)).s;
    /** Tell `s` it discovered `peer` (as mDNS or a DHT answer would) and give a dial time to open */
    const discover = async (s: P2PService, peer: P2PService) => {
      // libp2p stores a discovery service's addresses before it tells its listeners
      await s.node.peerStore.merge(peer.node.peerId, { multiaddrs: peer.node.getMultiaddrs() });
      s.node.safeDispatchEvent("peer:discovery", {
        detail: { id: peer.node.peerId, multiaddrs: peer.node.getMultiaddrs() },
      });
      await waitFor("a discovery dial", () => s.node.getConnections(peer.node.peerId).length > 0, 20).catch(() => {});
      return s.node.getConnections(peer.node.peerId).length > 0;
    };
    const hub = await start("hub");
    const first = await start("first");
    const second = await start("second");
    // A node for one command with one connection open already: the discovered peer is not dialled
    const shortLived = await start("short", { discoveryDialLimit: 1 });
    await shortLived.dial(hub.node.getMultiaddrs()[0]!.toString(), AbortSignal.timeout(5000));
    assert.equal(await discover(shortLived, first), false);
    // Below the limit, and on a daemon (its inbound share), discovered peers are dialled
    const idle = await start("idle", { discoveryDialLimit: 1 });
    assert.equal(await discover(idle, first), true);
    const daemon = await start("daemon");
    await daemon.dial(hub.node.getMultiaddrs()[0]!.toString(), AbortSignal.timeout(5000));
    assert.equal(await discover(daemon, second), true);
    // One DHT answer names many peers in one tick: dials still in flight count against the
    // limit, so the burst opens no more connections than it allows
    const named = [hub, first, second, idle];
    const burst = await start("burst", { discoveryDialLimit: 2 });
    for (const peer of named) {
      await burst.node.peerStore.merge(peer.node.peerId, { multiaddrs: peer.node.getMultiaddrs() });
    }
    for (const peer of named) {
      burst.node.safeDispatchEvent("peer:discovery", {
        detail: { id: peer.node.peerId, multiaddrs: peer.node.getMultiaddrs() },
      });
    }
    await waitFor("the burst's dials", () => burst.node.getConnections().length >= 2, 40);
    // Time for any further dial to finish (on loopback one takes a few ms)
    await new Promise((r) => setTimeout(r, 500));
    const reached = new Set(burst.node.getConnections().map((c) => c.remotePeer.toString()));
    assert.equal(reached.size, 2, `${reached.size} peers dialled for a limit of 2`);
  },
});

Deno.test({
  name: "P2P service in-process: a lookup starts dialling the providers it returns unconnected",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using network = await serviceNetwork();
    const { start } = network;
    const { s: hub } = await start("hub");
    const { s: holder, home: holderHome } = await start("holder");
    // One connection open and a limit of one: no discovery dial, so only the lookup's own dial
    // can tell that the holder is gone
    const { s: seeker } = await start("seeker", { discoveryDialLimit: 1 });
    const hubAddr = hub.node.getMultiaddrs()[0]!.toString();
    await holder.dial(hubAddr, AbortSignal.timeout(5000));
    await seeker.dial(hubAddr, AbortSignal.timeout(5000));
    await waitFor("routing tables", () => hub.status().routingTableSize >= 2 && seeker.status().routingTableSize > 0);
    const bytes = crypto.getRandomValues(new Uint8Array(1000));
    const sha256 = sha256Hex(bytes);
    await Deno.writeFile(join(holderHome, "cache", "sha256", sha256), bytes);
    await holder.provide(sha256, AbortSignal.timeout(10_000));
    const holderId = holder.node.peerId.toString();
    // The provider record outlives its holder, as on a LAN where a daemon went away (providing
    // may have connected the holder to the seeker: that connection is gone too)
    await network.stop(holder);
    await waitFor(
      "the holder's connections closed",
      () => seeker.node.getConnections(holder.node.peerId).length === 0,
    );
    const found = await seeker.providers.findProviders(sha256, 1, AbortSignal.timeout(10_000));
    assert.deepEqual(found.map((p) => p.peerId), [holderId]);
    assert.equal(found[0]?.reach, "unknown", "not connected when the lookup answered");
    // Nobody fetched: the dial started ahead failed, and the download that would follow ranks it last
    await waitFor("the dial ahead", () => seeker.providers.rank([holderId])[0]?.reach === "unreachable");
  },
});
