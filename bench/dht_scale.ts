/**
 * The network's scale (issue 14): DHT lookups with 10, 25 and 50 nodes, and in the 25-node network
 * with 100 and 1,000 provider records; bootstrap discovery beside mDNS's. Part of `deno task bench:p2p`.
 * @module
 */
import { join } from "node:path";
import { sha256Hex } from "../src/core/digest.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startWorkerNode, type WorkerNode } from "../src/p2p/mod.ts";
import { waitForPeers } from "../src/p2p/mod.ts";
import { randomBytes } from "../tests/helpers.ts";
import { createRecorder, nodeInit, waitRouting } from "./p2p_common.ts";
import { median, percentile, type ResultRow } from "./results_section.ts";

/** Measure into `rows`, with nodes' homes under `work` */
export async function measureDhtScale(work: string, rows: ResultRow[]): Promise<void> {
  const record = createRecorder(rows);
  /** 20 lookups of freshly provided CIDs, each asked by another node; rows labelled `label` */
  async function dhtLookups(nodes: WorkerNode[], label: string): Promise<void> {
    const n = nodes.length;
    const times: number[] = [];
    let hits = 0;
    for (let k = 0; k < 20; k++) {
      const sha = sha256Hex(randomBytes(32));
      const provider = nodes[k % n]!;
      await provider.provide(sha);
      // Another node asks (with 25 nodes, k = 12 would have picked the provider itself, which
      // never counts itself as a provider: that was the "failed" lookup of earlier runs)
      const askerIndex = (k * 7 + 3) % n === k % n ? (k * 7 + 4) % n : (k * 7 + 3) % n;
      const asker = nodes[askerIndex]!;
      const t0 = performance.now();
      const found = await asker.findProviders(sha, { limit: 1 }).catch(() => []);
      // A failed lookup counts in every percentile, at the time it gave up
      times.push(performance.now() - t0);
      if (found.length) hits++;
    }
    rows.push({
      measure: `DHT findProviders, ${label}: lookups that found the provider`,
      budget: "20/20",
      value: `${hits}/20`,
      ok: hits === 20,
    });
    record(`DHT findProviders, ${label}: p50 (failures included)`, 1000, median(times));
    record(`DHT findProviders, ${label}: p95 (failures included)`, 1000, percentile(times, 0.95));
  }

  /** Provide `count` random CIDs spread over `nodes`, 25 at a time */
  async function provideMany(nodes: WorkerNode[], count: number): Promise<void> {
    for (let done = 0; done < count; done += 25) {
      await Promise.all(
        Array.from(
          { length: Math.min(25, count - done) },
          (_, j) => nodes[(done + j) % nodes.length]!.provide(sha256Hex(randomBytes(32))).catch(() => {}),
        ),
      );
    }
  }

  /** Time from a node listening to its first peer through one bootstrap address (beside mDNS's below) */
  const bootstrapTimes: number[] = [];
  for (const n of [10, 25, 50]) {
    const nodes: WorkerNode[] = [];
    for (let i = 0; i < n; i++) {
      const node = await startWorkerNode(
        { logger: silentLogger },
        nodeInit(join(work, `dht${n}-${i}`), i ? [nodes[Math.floor(Math.random() * i)]!.listenAddrs[0]!] : []),
      );
      if (n === 10 && i > 0) {
        const t0 = performance.now();
        if (await waitForPeers(node, 1, 10_000) >= 1) bootstrapTimes.push(performance.now() - t0);
      }
      nodes.push(node);
    }
    if (n === 10) {
      record(`bootstrap discovery after listen, median of ${bootstrapTimes.length}`, 500, median(bootstrapTimes));
    }
    await waitRouting(nodes, 1);
    await new Promise((r) => setTimeout(r, 2000));
    await dhtLookups(nodes, `${n} nodes`);
    if (n === 25) {
      // How lookups grow with what the network holds: 10, 100 and 1,000 provider records in all
      let held = 20;
      for (const records of [100, 1000]) {
        await provideMany(nodes, records - held);
        held = records;
        await dhtLookups(nodes, `25 nodes, ${records} records provided`);
      }
    }
    await Promise.all(nodes.map((x) => x.stop()));
  }
}
