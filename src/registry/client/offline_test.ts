import assert from "node:assert/strict";
import { NotFoundError, type PackageInfo, silentLogger } from "../../core/mod.ts";
import { createPackageCache, openMetadataCache } from "../../store/mod.ts";
import { createCacheRegistry } from "./offline.ts";

/** A kept document of `id` with one version whose description is `description` */
const doc = (id: string, description: string): PackageInfo => ({
  id,
  name: id,
  description,
  versions: [{
    id,
    version: "1.0.0",
    name: id,
    description,
    tags: [],
    keywords: [],
    sha256: "a".repeat(64),
    size: 1,
    dependencies: {},
    yanked: false,
    published_at: "2026-12-03T00:00:00.000Z",
  }],
  metadata_signature: {
    payloadType: "application/vnd.ggen.metadata.v1+json",
    payload: "e30=",
    signatures: [{ keyid: `SHA256:${"A".repeat(43)}`, sig: btoa("s".repeat(64)) }],
  },
  source: "central",
});

Deno.test("cache registry: search reads documents in batches and answers in id order up to the limit", async () => {
  const home = await Deno.makeTempDir();
  try {
    const metadata = openMetadataCache({ home });
    const cache = createPackageCache({ logger: silentLogger }, { home });
    // 90 documents, every third one matching: the matches span several read batches
    const ids = Array.from({ length: 90 }, (_, i) => `io.cached.p${String(i).padStart(2, "0")}`);
    for (const [i, id] of ids.entries()) await metadata.put(doc(id, i % 3 === 0 ? "alpha template" : "beta"));
    const registry = createCacheRegistry({ metadata, cache });
    const matching = ids.filter((_, i) => i % 3 === 0);

    const all = await registry.search({ text: "alpha", limit: 100 });
    assert.deepEqual(all.map((h) => h.id), matching);
    assert.ok(all.every((h) => h.source === "cache" && h.version === "1.0.0"));
    const first = await registry.search({ text: "ALPHA template", limit: 12 });
    assert.deepEqual(first.map((h) => h.id), matching.slice(0, 12));
    assert.equal((await registry.search({ text: "alpha" })).length, 20, "the default limit");
    // An exact id comes first, as central ranks it
    assert.equal((await registry.search({ text: "io.cached.p45" }))[0]?.id, "io.cached.p45");
    await assert.rejects(registry.search({ text: "gamma" }), NotFoundError);
    const aborted = new AbortController();
    aborted.abort(new Error("stop"));
    await assert.rejects(registry.search({ text: "alpha" }, { signal: aborted.signal }), /stop/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
