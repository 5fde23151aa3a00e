import assert from "node:assert/strict";
import { join } from "node:path";
import { fingerprint, fromBase64 } from "../core/mod.ts";
import { loadOrCreateKeyFiles } from "../store/mod.ts";
import { loadOrCreateSigner } from "./keys.ts";

Deno.test("keys: first-time creations at once agree on one key pair (one wins, the others load it)", async () => {
  const home = await Deno.makeTempDir({ prefix: "ggen-keys-" });
  try {
    const created: string[] = [];
    const signers = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateSigner(home, "default", (k) => created.push(k.keyid))),
    );
    assert.equal(new Set(signers.map((s) => s.keyid)).size, 1);
    assert.equal(created.length, 1, "exactly one creation is reported");
    const pub = fromBase64((await Deno.readTextFile(join(home, "keys", "default.pub"))).trim());
    assert.equal(fingerprint(pub), signers[0]!.keyid);
    // Each signs with the private key that matches the public one on disk
    const data = new TextEncoder().encode("statement");
    for (const s of signers) {
      const sig = await crypto.subtle.sign("Ed25519", s.privateKey, data);
      const key = await crypto.subtle.importKey("raw", pub as Uint8Array<ArrayBuffer>, "Ed25519", false, ["verify"]);
      assert.ok(await crypto.subtle.verify("Ed25519", key, sig, data));
    }
    const pairs = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateKeyFiles(join(home, "registry.key"), join(home, "registry.pub"))),
    );
    assert.equal(new Set(pairs.map((p) => p.keyid)).size, 1);
    assert.deepEqual([...Deno.readDirSync(home)].filter((e) => e.name.startsWith(".tmp-")), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
