import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../core/digest.ts";
import { IntegrityError, TooLargeError } from "../core/errors.ts";
import { statfs } from "node:fs/promises";
import { recordFigure } from "../../tests/figures.ts";
import { silentLogger } from "../core/logger.ts";
import { createPackageCache } from "./cache.ts";

const streamOf = (...chunks: Uint8Array[]) => ReadableStream.from(chunks);

Deno.test("PackageCache.put() stores verified bytes and refuses a mismatch without leaving files", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cache = createPackageCache({ logger: silentLogger }, { home });
    const good = new TextEncoder().encode("hello");
    const sha = sha256Hex(good);
    await cache.put(streamOf(good), sha);
    assert.equal(await cache.get(sha), join(cache.dir, sha));
    const other = sha256Hex(new TextEncoder().encode("other"));
    await assert.rejects(cache.put(streamOf(good), other), IntegrityError);
    assert.deepEqual([...Deno.readDirSync(cache.dir)].map((e) => e.name), [sha]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("PackageCache.get() evicts a corrupt entry", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cache = createPackageCache({ logger: silentLogger }, { home });
    const bytes = new TextEncoder().encode("payload");
    const sha = sha256Hex(bytes);
    const path = await cache.put(streamOf(bytes), sha);
    await Deno.writeTextFile(path, "corrupted");
    assert.equal(await cache.get(sha), undefined);
    assert.equal(await cache.has(sha), false);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("PackageCache.put() interrupted mid-stream keeps nothing", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cache = createPackageCache({ logger: silentLogger }, { home });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        c.error(new Error("connection reset"));
      },
    });
    await assert.rejects(cache.put(body, "a".repeat(64)), /connection reset/);
    assert.deepEqual([...Deno.readDirSync(cache.dir)], []);
    const tooLong = streamOf(new Uint8Array(100));
    await assert.rejects(cache.put(tooLong, "b".repeat(64), { size: 10 }), /more than the expected/);
    assert.deepEqual([...Deno.readDirSync(cache.dir)], []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("PackageCache.put() refuses a declared size the disk cannot hold, before the first byte", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cache = createPackageCache({ logger: silentLogger }, { home });
    await Deno.mkdir(cache.dir, { recursive: true });
    const fs = await statfs(cache.dir);
    const free = fs.bavail * fs.bsize;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1024));
      },
    });
    const sha = "a".repeat(64);
    await assert.rejects(cache.put(body, sha, { size: free + 2 ** 30 }), (err: Error) => {
      assert.ok(err instanceof TooLargeError);
      assert.match(err.message, /Not enough disk space/);
      return true;
    });
    assert.equal(pulled <= 1, true, "bytes were read before the size was refused");
    assert.deepEqual([...Deno.readDirSync(cache.dir)], []);
    await recordFigure(
      "disk-space",
      `a declared size of free space + 1 GiB (${((free + 2 ** 30) / 2 ** 30).toFixed(1)} GiB) refused before any ` +
        "byte was written; no temp file left",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
