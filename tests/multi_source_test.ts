/**
 * Multi-peer fetch (issue 13, item 6): a blob that several providers hold is downloaded in pieces
 * from several at once, verified whole; a provider that stalls gives its pieces back to the
 * others. The load spread is read from each provider's own byte counter.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPeers } from "../src/p2p/mod.ts";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { encodeFrame } from "../src/p2p/fetch_wire.ts";
import { startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import type { SingleKadDHT } from "@libp2p/kad-dht";
import { recordFigure } from "./figures.ts";
import { randomBytes, tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { fetchFromPeers } from "./p2p_helpers.ts";
import { createStockPeer } from "./stock_peer.ts";

const SIZE = 8 * 1024 * 1024;

Deno.test("multi-source: pieces come from several providers, a stalling one is left behind", async () => {
  await using work = await tempDir();
  const blob = randomBytes(SIZE);
  const sha = sha256Hex(blob);
  const version = { id: "io.multi.pkg", version: "1.0.0", sha256: sha, size: blob.length } as PackageVersion;
  const nodes: WorkerNode[] = [];
  const staller = await createStockPeer();
  try {
    for (let i = 0; i < 3; i++) {
      const home = join(work.path, `p${i}`);
      await Deno.mkdir(join(home, "cache", "sha256"), { recursive: true });
      await Deno.writeFile(join(home, "cache", "sha256", sha), blob);
      nodes.push(
        await startWorkerNode(
          { logger: silentLogger },
          loopbackNodeInit(home, { bootstrap: i ? [nodes[0]!.listenAddrs[0]!] : [] }),
        ),
      );
    }
    await waitForPeers(nodes[2]!, 2, 5000);
    for (const n of nodes) await n.provide(sha);
    // A stock peer that provides the blob, answers a fetch with a header and then nothing
    await staller.handle("/ggen/fetch/1.0.0", (stream) => {
      stream.send(encodeFrame({ ok: true, total: blob.length, offset: 0, length: 1024 * 1024 }));
    });
    await staller.dial(multiaddr(nodes[0]!.listenAddrs[0]!));
    for (let w = 0; w < 100 && (staller.services.dht as SingleKadDHT).routingTable.size === 0; w++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await staller.contentRouting.provide(CID.createV1(raw.code, await sha256.digest(blob))).catch(() => {});

    const client = await startWorkerNode(
      { logger: silentLogger },
      loopbackNodeInit(join(work.path, "client"), { bootstrap: [nodes[0]!.listenAddrs[0]!] }),
    );
    nodes.push(client);
    await waitForPeers(client, 1, 5000);
    const got = await fetchFromPeers(client, version, join(work.path, "cache"), { stallMs: 1000 });
    assert.equal(sha256Hex(await Deno.readFile(got.path)), sha);
    assert.ok(got.source.includes(","), `one source only: ${got.source}`);
    const served = await Promise.all(nodes.slice(0, 3).map(async (n) => (await n.status()).bytesOut));
    const contributing = served.filter((b) => b > 0).length;
    assert.ok(contributing >= 2, `bytes served per provider: ${served.join(", ")}`);
    const staller_ = staller.peerId.toString();
    const stallerUsed = got.source.includes(staller_);
    await recordFigure(
      "multi-source",
      `an 8 MiB blob held by 3 providers${stallerUsed ? " and a stalling peer" : ""}: ${contributing} providers ` +
        `served pieces (${served.map((b) => `${(b / 2 ** 20).toFixed(1)} MiB`).join(", ")}), whole verified` +
        (stallerUsed ? "; the staller's pieces went to the others" : ""),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await staller.stop();
  }
});
