/**
 * Replays the hostile-archive corpus against install extraction and against publish, and prints
 * one summary table: cases per class, rejected with a typed error, files or links created outside
 * the target, and for the bomb the bytes inflated before the abort.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { unpackArchive } from "../src/archive/mod.ts";
import { apiPaths, SHA256_HEADER } from "../src/core/api.ts";
import { sha256Hex } from "../src/core/digest.ts";
import { TooLargeError, ValidationError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { tempDir } from "./helpers.ts";
import { generateCorpus } from "./hostile/corpus.ts";

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    out.push(join(dir, e.name));
    if (e.isDirectory && !e.isSymlink) out.push(...walk(join(dir, e.name)));
  }
  return out;
}

Deno.test("hostile archives: every class is refused by install extraction and by publish", async () => {
  await using work = await tempDir();
  const outside = join(work.path, "outside-target-evil");
  const corpus = generateCorpus(outside);
  const classes = new Set(corpus.map((c) => c.klass));
  assert.ok(classes.size >= 20, `only ${classes.size} classes`);
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: {},
  });
  const token = (await createToken(server.metadata)).token;
  const rows = new Map<
    string,
    { tried: number; rejected: number; outside: number; published: number; notes: string[] }
  >();
  try {
    for (const [i, c] of corpus.entries()) {
      const row = rows.get(c.klass) ?? { tried: 0, rejected: 0, outside: 0, published: 0, notes: [] };
      rows.set(c.klass, row);
      row.tried++;
      const sandbox = join(work.path, `s${i}`);
      await Deno.mkdir(sandbox);
      const target = join(sandbox, "target");
      const rssBefore = Deno.memoryUsage().rss;
      try {
        await unpackArchive(c.bytes, target);
        // Extraction ignores an install marker inside the archive (only the installer writes one)
        if (c.klass === "archive containing the install marker") {
          const planted = walk(target).some((p) => p.endsWith("/.ggen-complete"));
          if (!planted) row.rejected++;
          row.notes.push(planted ? "MARKER WRITTEN" : "marker ignored on install; publish refuses it");
        }
      } catch (err) {
        if (err instanceof ValidationError || err instanceof TooLargeError) row.rejected++;
        else row.notes.push(`untyped ${(err as Error).name}`);
        const inflated = /stopped after inflating (\d+)/.exec((err as Error).message)?.[1];
        if (inflated) {
          const written = walk(target).reduce((n, p) => n + (Deno.statSync(p).isFile ? Deno.statSync(p).size : 0), 0);
          const rss = (Deno.memoryUsage().rss - rssBefore) / 1024 / 1024;
          row.notes.push(
            `inflated ${inflated} B before abort (limit 512 MiB + 64 KiB: ${
              Number(inflated) <= 512 * 1024 * 1024 + 65536 ? "ok" : "OVER"
            }), ${written} B written, RSS +${rss.toFixed(0)} MiB`,
          );
          assert.ok(Number(inflated) <= 512 * 1024 * 1024 + 65536);
          assert.equal(written, 0);
        }
      }
      const escaped = walk(sandbox).filter((p) => p !== target && !p.startsWith(target + "/"));
      let outsideCount = escaped.length;
      try {
        await Deno.lstat(outside);
        outsideCount++;
      } catch { /* good: nothing there */ }
      row.outside += outsideCount;
      // The same bytes as a publish: refused with a 4xx, nothing stored
      const res = await fetch(server.url + apiPaths.version("io.evil.pkg", `1.0.${i}`), {
        method: "PUT",
        body: c.bytes as Uint8Array<ArrayBuffer>,
        headers: { authorization: `Bearer ${token}`, [SHA256_HEADER]: sha256Hex(c.bytes) },
      });
      await res.body?.cancel();
      if (res.ok) row.published++;
      else assert.ok(res.status >= 400 && res.status < 500, `${c.klass}: publish answered ${res.status}`);
    }
    assert.deepEqual(await server.metadata.listBlobDigests(), []);
  } finally {
    await server.stop();
  }
  console.log(
    "\n| class | cases | rejected (typed) or neutralised | created outside target | published | notes |\n| --- | --- | --- | --- | --- | --- |",
  );
  for (const [k, r] of rows) {
    console.log(`| ${k} | ${r.tried} | ${r.rejected} | ${r.outside} | ${r.published} | ${r.notes.join("; ")} |`);
  }
  for (const [k, r] of rows) {
    assert.equal(r.rejected, r.tried, `${k}: ${r.rejected}/${r.tried} rejected`);
    assert.equal(r.outside, 0, `${k}: wrote outside the target`);
    assert.equal(r.published, 0, `${k}: was published`);
  }
  const cases = [...rows.values()].reduce((n, r) => n + r.tried, 0);
  const bomb = [...rows.entries()].find(([k]) => k.startsWith("gzip bomb"))?.[1].notes.join("; ") ?? "";
  await recordFigure(
    "hostile-archives",
    `${rows.size} classes, ${cases} cases: all refused by install extraction and by publish; 0 files outside the target; ${bomb}`,
  );
});
