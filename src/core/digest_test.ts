import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { contentSha256Hex, createSha256, sha256Bytes, sha256Hex } from "./digest.ts";
import { fingerprint } from "./envelope.ts";

// The two kinds of digest (pure JavaScript for metadata, node:crypto for package bytes) agree
// with each other and with Node's own, at block edges and in pieces
Deno.test("digest: metadata and content SHA-256 agree with node:crypto", async () => {
  assert.equal(
    sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 65_536]) {
    const bytes = crypto.getRandomValues(new Uint8Array(size));
    const expected = createHash("sha256").update(bytes).digest("hex");
    assert.equal(sha256Hex(bytes), expected, `${size} bytes`);
    assert.equal(await contentSha256Hex(bytes), expected, `${size} bytes`);
    const pieces = await createSha256();
    pieces.update(bytes.subarray(0, size >> 1));
    pieces.update(bytes.subarray(size >> 1));
    assert.equal(pieces.hex(), expected, `${size} bytes in two pieces`);
    assert.equal(
      fingerprint(bytes),
      `SHA256:${createHash("sha256").update(bytes).digest("base64").replace(/=+$/, "")}`,
    );
    assert.deepEqual(sha256Bytes(bytes), new Uint8Array(createHash("sha256").update(bytes).digest()));
  }
});
