/**
 * P2P transfers are bounded (issue 12, items 4 and 5): a provider that drips one byte at a
 * time under the stall timer is cut at the transfer deadline derived from the size; a provider
 * that declares another size than the signed record is refused before its first byte; a record
 * declaring a huge size is refused before any lookup. A hostile stock js-libp2p peer serves.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { StallError, TooLargeError, ValidationError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { encodeFrame, startWorkerNode } from "../src/p2p/mod.ts";
import { createP2PRegistry } from "../src/registry/client/mod.ts";
import { recordFigure } from "./figures.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { createStockPeer } from "./stock_peer.ts";

const SHA = "a".repeat(64);

Deno.test("p2p transfers: slow drip cut at the deadline, a wrong declared size refused, huge records refused", async (t) => {
  await using work = await tempDir();
  const node = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(join(work.path, "client")));
  const liar = await createStockPeer();
  let mode: "drip" | "huge" = "drip";
  let sent = 0;
  await liar.handle("/ggen/fetch/1.0.0", async (stream) => {
    if (mode === "huge") {
      stream.send(encodeFrame({ ok: true, total: 10 * 1024 ** 3, offset: 0, length: 10 * 1024 ** 3 }));
      for (let i = 0; i < 100 && stream.status === "open"; i++) {
        sent += 65536;
        if (!stream.send(new Uint8Array(65536))) await stream.onDrain().catch(() => {});
      }
      return;
    }
    stream.send(encodeFrame({ ok: true, total: 1000, offset: 0, length: 1000 }));
    // One byte every 300 ms: always under the 1 s stall timer, far below the minimum rate
    for (let i = 0; i < 1000 && stream.status === "open"; i++) {
      await new Promise((r) => setTimeout(r, 300));
      if (stream.status !== "open") break;
      stream.send(new Uint8Array([i & 0xff]));
      sent++;
    }
  });
  try {
    await node.dial(liar.getMultiaddrs()[0]!.toString());
    const liarId = liar.peerId.toString();

    await t.step("a slow drip is cut at the deadline derived from the size", async () => {
      mode = "drip";
      sent = 0;
      const started = performance.now();
      const err = await (async () => {
        const body = await node.fetch(liarId, SHA, { stallMs: 1000, expectedSize: 1000, minBytesPerSecond: 1000 });
        for await (const _ of body) { /* drain */ }
      })().catch((e) => e);
      const seconds = (performance.now() - started) / 1000;
      assert.ok(err instanceof StallError, `expected a StallError, got ${err}`);
      assert.match(err.message, /too slow/);
      const figure = `a provider dripping 1 byte every 300 ms (under the 1 s stall timer) for a 1,000-byte package ` +
        `at a 1,000 B/s minimum: cut after ${
          seconds.toFixed(1)
        } s with ${sent} bytes sent (deadline: 5 s grace + size / rate)`;
      console.log(`  ${figure}`);
      await recordFigure("slow-drip", figure);
    });

    await t.step("a declared size other than the signed record's is refused before the first byte", async () => {
      mode = "huge";
      sent = 0;
      const err = await node.fetch(liarId, SHA, { stallMs: 2000, expectedSize: 1000 }).then(
        async (body) => {
          for await (const _ of body) { /* drain */ }
        },
      ).catch((e) => e);
      assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${err}`);
      assert.match(err.message, /declares 10737418240 bytes .* the signed record says 1000/);
    });

    await t.step("a record declaring 2^53-1 bytes is refused before any provider lookup", async () => {
      const registry = createP2PRegistry({ logger: silentLogger, node }, { peerId: node.peerId });
      const version = {
        id: "io.huge.pkg",
        version: "1.0.0",
        sha256: SHA,
        size: Number.MAX_SAFE_INTEGER,
      } as PackageVersion;
      await assert.rejects(registry.open(version), TooLargeError);
      await recordFigure(
        "size-cap",
        "a signed record declaring 2^53-1 bytes: refused before any lookup (cap 10 MiB, registry.p2p.max_package_bytes); " +
          "a provider declaring 10 GiB for a 1,000-byte record: refused before its first byte",
      );
    });
  } finally {
    await liar.stop();
    await node.stop();
  }
});
