import assert from "node:assert/strict";
import { join } from "node:path";
import { ValidationError } from "../core/errors.ts";
import { lockedRegistry, readLockfile, writeLockfile } from "./lockfile.ts";

Deno.test("lockfile: the registry key travels with the lock; a key and fingerprint that disagree are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const registry = lockedRegistry(key);
    assert.match(registry.fingerprint, /^SHA256:/);
    await writeLockfile(dir, { requires: {}, packages: [], registry });
    assert.deepEqual((await readLockfile(dir)).registry, registry);
    const other = lockedRegistry(btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))));
    const text = await Deno.readTextFile(join(dir, "ggen.lock"));
    await Deno.writeTextFile(join(dir, "ggen.lock"), text.replace(registry.fingerprint, other.fingerprint));
    await assert.rejects(readLockfile(dir), ValidationError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
