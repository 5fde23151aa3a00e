/**
 * Index laundering (issue 12, item 9): an attacker's index record for an owner's package never
 * merges into the index the owner signs next, and every signer's versions stay visible to a
 * reader (the trust policy, not the DHT's last PUT, decides between signers).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { silentLogger } from "../src/core/logger.ts";
import { versionFromManifest } from "../src/core/package.ts";
import { indexKey, type IndexRecord, startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { createP2PRegistry } from "../src/registry/client/mod.ts";
import { createPackageCache, openRecordCache } from "../src/store/mod.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { recordFigure } from "./figures.ts";
import { tempDir, writePackage } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";

Deno.test("p2p index: an attacker's index never launders into the owner's; every signer's versions are visible", async () => {
  await using work = await tempDir();
  const nodes: WorkerNode[] = [];
  try {
    const start = async (name: string) => {
      const home = join(work.path, name);
      const node = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(home));
      if (nodes.length) await node.dial(nodes[0]!.listenAddrs[0]!);
      nodes.push(node);
      for (let i = 0; i < 100 && (await node.status()).routingTableSize === 0 && nodes.length > 1; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return { node, home };
    };
    const owner = await start("owner");
    const mallory = await start("mallory");
    const reader = await start("reader");
    await generateKey(work.path, "alice");
    await generateKey(work.path, "mallory");
    const publish = async (who: { node: WorkerNode; home: string }, key: string, version: string) => {
      const signer = await loadSigner(work.path, key);
      const packed = await packDirectory(
        await writePackage(join(work.path, `${key}-${version}`), { id: "io.launder.pkg", version }),
      );
      const v = await signVersion(versionFromManifest(packed.manifest, packed), signer, Date.now());
      await createPackageCache({ logger: silentLogger }, { home: who.home }).put(
        ReadableStream.from([packed.bytes]),
        packed.sha256,
      );
      const registry = createP2PRegistry({ logger: silentLogger, node: who.node }, {
        peerId: who.node.peerId,

        records: await openRecordCache(who.home),
      });
      await registry.publish(packed.bytes, v, { signer });
      return signer;
    };
    const alice = await publish(owner, "alice", "1.0.0");
    await publish(mallory, "mallory", "9.9.9");
    await publish(owner, "alice", "1.1.0");

    const indexes = (await reader.node.getRecords(indexKey("io.launder.pkg"))).map((r) =>
      JSON.parse(r.value) as IndexRecord
    );
    const alicesNewest = indexes.filter((r) => r.versions.some((v) => v.version === "1.1.0"))
      .sort((x, y) => y.timestamp - x.timestamp)[0];
    assert.ok(alicesNewest, "the owner's index is on the network");
    assert.deepEqual(alicesNewest.versions.map((v) => v.version).sort(), ["1.0.0", "1.1.0"]);
    assert.ok(!alicesNewest.versions.some((v) => v.version === "9.9.9"), "the attacker's version was laundered");
    void alice;

    const info = await createP2PRegistry({ logger: silentLogger, node: reader.node }, {
      peerId: reader.node.peerId,
    }).info("io.launder.pkg");
    const listed = info.versions.map((v) => v.version).sort();
    assert.ok(listed.includes("1.0.0") && listed.includes("1.1.0"), `the owner's versions stay visible: ${listed}`);
    await recordFigure(
      "index-laundering",
      `an attacker's index (9.9.9) put between the owner's publishes: the owner's next index lists ${
        alicesNewest.versions.map((v) => v.version).sort().join(", ")
      }; a reader sees ${listed.join(", ")} (every signer's versions; the trust policy decides)`,
    );
  } finally {
    for (const n of nodes.reverse()) await n.stop();
  }
});
