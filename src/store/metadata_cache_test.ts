import assert from "node:assert/strict";
import { join } from "node:path";
import type { PackageInfo } from "../core/mod.ts";
import { openMetadataCache } from "./metadata_cache.ts";

const doc = (id: string, signed = true): PackageInfo => ({
  id,
  name: id,
  description: "d",
  versions: [],
  ...(signed
    ? {
      metadata_signature: {
        payloadType: "application/vnd.ggen.metadata.v1+json",
        payload: "e30=",
        signatures: [{ keyid: `SHA256:${"A".repeat(43)}`, sig: btoa("s".repeat(64)) }],
      },
    }
    : {}),
  source: "central",
});

Deno.test("metadata cache: keeps signed documents only, bounded, and a damaged entry is dropped", async () => {
  const home = await Deno.makeTempDir();
  try {
    const cache = openMetadataCache({ home, maxEntries: 2 });
    await cache.put(doc("io.meta.unsigned", false));
    assert.equal(await cache.get("io.meta.unsigned"), undefined);
    await cache.put(doc("io.meta.a"));
    const got = await cache.get("io.meta.a");
    assert.equal(got?.id, "io.meta.a");
    assert.equal(got?.source, undefined, "a client-side field was stored");
    await new Promise((r) => setTimeout(r, 10));
    await cache.put(doc("io.meta.b"));
    await new Promise((r) => setTimeout(r, 10));
    await cache.put(doc("io.meta.c"));
    assert.deepEqual((await cache.ids()).sort(), ["io.meta.b", "io.meta.c"]);
    await Deno.writeTextFile(join(cache.dir, "io.meta.b.json"), "{not json");
    assert.equal(await cache.get("io.meta.b"), undefined);
    assert.deepEqual(await cache.ids(), ["io.meta.c"]);
    // A traversal id never becomes a path
    assert.equal(await cache.getText("../../etc/passwd"), undefined);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
