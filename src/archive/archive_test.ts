import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { TooLargeError, ValidationError } from "../core/errors.ts";
import { packDirectory, readManifestFromArchive, unpackArchive } from "./mod.ts";

const MANIFEST = `[package]
id = "io.test.pkg"
name = "Test"
version = "1.0.0"
description = "d"
`;

async function makePackage(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "b", "c"), { recursive: true });
  await Deno.writeTextFile(join(dir, "ggen.toml"), MANIFEST);
  await Deno.writeTextFile(join(dir, "b", "c", "z.txt"), "zzz");
  await Deno.writeTextFile(join(dir, "a.txt"), "aaa");
}

Deno.test("packDirectory() gives the same bytes for the same content", async () => {
  const one = await Deno.makeTempDir();
  const two = await Deno.makeTempDir();
  try {
    await makePackage(one);
    await makePackage(two);
    await Deno.utime(join(two, "a.txt"), 12345, 67890);
    const a = await packDirectory(one);
    const b = await packDirectory(two);
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(a.bytes, b.bytes);
    await Deno.writeTextFile(join(two, "a.txt"), "changed");
    assert.notEqual((await packDirectory(two)).sha256, a.sha256);
    const target = join(one, "out");
    const res = await unpackArchive(a.bytes, target);
    assert.equal(res.files, 3);
    assert.equal(await Deno.readTextFile(join(target, "b", "c", "z.txt")), "zzz");
    const { manifest } = await readManifestFromArchive(a.bytes);
    assert.equal(manifest.id, "io.test.pkg");
  } finally {
    await Deno.remove(one, { recursive: true });
    await Deno.remove(two, { recursive: true });
  }
});

type Entry = { header: Partial<tar.Header> & { name: string }; body?: Uint8Array | string };

async function tarGz(entries: Entry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => pack.entry(e.header, e.body ?? "", (err) => err ? rej(err) : res()));
  }
  pack.finalize();
  await done;
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  return new Uint8Array(gzipSync(all));
}

const file = (name: string, body = "x"): Entry => ({
  header: { name, type: "file", size: body.length, mode: 0o644 },
  body,
});

Deno.test("unpackArchive() refuses hostile archives and writes nothing outside the target", async (t) => {
  const deep = Array.from({ length: 70 }, (_, i) => `d${i}`).join("/") + "/f";
  const cases: [string, Entry[], typeof ValidationError | typeof TooLargeError][] = [
    ["absolute path", [file("/tmp/evil")], ValidationError],
    ["dot-dot", [file("../evil")], ValidationError],
    ["nested dot-dot", [file("a/../../evil")], ValidationError],
    ["backslash dot-dot", [file("..\\evil")], ValidationError],
    ["drive-relative", [file("C:evil")], ValidationError],
    ["symlink out", [{ header: { name: "link", type: "symlink", linkname: "/etc" } }], ValidationError],
    ["dir then symlink", [{ header: { name: "d", type: "directory" } }, {
      header: { name: "d", type: "symlink", linkname: "/" },
    }], ValidationError],
    ["hardlink out", [{ header: { name: "h", type: "link", linkname: "/etc/passwd" } }], ValidationError],
    ["char device", [{ header: { name: "dev", type: "character-device", devmajor: 1, devminor: 3 } }], ValidationError],
    ["block device", [{ header: { name: "blk", type: "block-device", devmajor: 8, devminor: 0 } }], ValidationError],
    ["fifo", [{ header: { name: "fifo", type: "fifo" } }], ValidationError],
    ["case duplicate", [file("Readme"), file("README")], ValidationError],
    ["NFC/NFD duplicate", [file("caf\u00e9"), file("cafe\u0301")], ValidationError],
    ["exact duplicate", [file("a"), file("a")], ValidationError],
    ["too deep", [file(deep)], ValidationError],
    ["over-long path", [file("x".repeat(300))], ValidationError],
  ];
  for (const [name, entries, cls] of cases) {
    await t.step(name, async () => {
      const dir = await Deno.makeTempDir();
      try {
        const bytes = await tarGz(entries);
        const target = join(dir, "target");
        await assert.rejects(unpackArchive(bytes, target), (err: Error) => {
          assert.ok(err instanceof cls, `${name}: got ${err.name}: ${err.message}`);
          return true;
        });
        const outside = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== "target");
        assert.deepEqual(outside, []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("unpackArchive() stops a gzip bomb at the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = new Uint8Array(8 * 1024 * 1024);
    const bytes = await tarGz([{ header: { name: "zeros", type: "file", size: big.length }, body: big }]);
    assert.ok(bytes.byteLength < 64 * 1024);
    await assert.rejects(
      unpackArchive(bytes, join(dir, "t"), { maxUnpackedBytes: 1024 * 1024, maxEntries: 10 }),
      TooLargeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpackArchive() refuses a truncated gzip and too many entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await tarGz([file("a", "a".repeat(5000)), file("b")]);
    await assert.rejects(unpackArchive(bytes.subarray(0, bytes.length - 20), join(dir, "t1")), ValidationError);
    await assert.rejects(unpackArchive(bytes, join(dir, "t2"), { maxEntries: 1 }), TooLargeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpackArchive() ignores an install marker inside the archive; publish refuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await tarGz([file("ggen.toml", MANIFEST), file(".ggen-complete", "forged")]);
    await unpackArchive(bytes, join(dir, "t"));
    await assert.rejects(Deno.stat(join(dir, "t", ".ggen-complete")), Deno.errors.NotFound);
    await assert.rejects(readManifestFromArchive(bytes), /install marker/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
