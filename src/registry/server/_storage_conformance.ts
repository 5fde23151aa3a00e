/**
 * The conformance suites every storage backend of the registry passes: one for
 * {@link MetadataStore}, one for {@link BlobStore}. The embedded SQLite and file backends run
 * them today; a PostgreSQL and an S3 backend run the same cases.
 * @module
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../../core/digest.ts";
import { ConflictError } from "../../core/errors.ts";
import type { PackageVersion } from "../../core/package.ts";
import type { BlobStore, MetadataStore, TokenRow } from "./storage.ts";

function version(id: string, v: string, extra: Partial<PackageVersion> = {}): PackageVersion {
  return {
    id,
    version: v,
    name: `${id} templates`,
    description: `Templates of ${id}`,
    tags: ["rust"],
    keywords: ["cli"],
    sha256: sha256Hex(new TextEncoder().encode(`${id}@${v}`)),
    size: 10,
    dependencies: {},
    yanked: false,
    published_at: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

const AUTH = { keyid: "SHA256:owner", publicKey: "AAAA", seq: 1 };

/** Run the metadata cases as steps of `t` against a fresh store from `open` */
export async function metadataStoreConformance(
  t: Deno.TestContext,
  name: string,
  open: () => Promise<MetadataStore>,
): Promise<void> {
  const store = await open();
  try {
    await t.step(`${name}: insert, read back, and refuse a duplicate version`, async () => {
      await store.insertVersion(version("io.store.cli", "1.0.0"), AUTH);
      await store.insertVersion(version("io.store.cli", "1.1.0"), { ...AUTH, seq: 2 });
      const info = await store.getPackage("io.store.cli");
      assert.deepEqual(info?.versions.map((v) => v.version), ["1.0.0", "1.1.0"]);
      assert.equal((await store.getVersion("io.store.cli", "1.1.0"))?.sha256, version("io.store.cli", "1.1.0").sha256);
      assert.equal(await store.getVersion("io.store.cli", "9.9.9"), undefined);
      await assert.rejects(store.insertVersion(version("io.store.cli", "1.0.0"), AUTH), ConflictError);
      assert.equal(await store.maxPublishSeq("io.store.cli"), 2);
      assert.deepEqual((await store.getOwners("io.store.cli")).map((o) => o.keyid), ["SHA256:owner"]);
    });

    await t.step(`${name}: search ranks the exact id first and pages`, async () => {
      await store.insertVersion(version("io.store.cli-extra", "1.0.0", { description: "io.store.cli helpers" }), AUTH);
      await store.insertVersion(version("io.other.pkg", "1.0.0", { tags: ["go"] }), AUTH);
      const { hits, total } = await store.search("io.store.cli", 10, 0);
      assert.equal(hits[0]?.id, "io.store.cli");
      assert.equal(hits[0]?.version, "1.1.0", "the highest version");
      assert.ok(total >= 2);
      assert.equal((await store.search("io.store.cli", 1, 1)).hits.length, 1);
      assert.deepEqual(await store.search("nothing-matches-this", 10, 0), { total: 0, hits: [] });
      // The total counts every match, not the page; past the last page it still does
      assert.equal((await store.search("io.store.cli", 1, 0)).total, total);
      assert.deepEqual(await store.search("io.store.cli", 10, total + 5), { total, hits: [] });
      // Pages of one never repeat the exact id, and together they are the first page
      const paged: string[] = [];
      for (let offset = 0; offset < total; offset++) {
        paged.push(...(await store.search("io.store.cli", 1, offset)).hits.map((h) => h.id));
      }
      assert.deepEqual(paged, hits.map((h) => h.id));
      // The word being typed is a prefix; the words before it are whole
      assert.equal((await store.search("io.store.cl", 10, 0)).hits[0]?.id, "io.store.cli");
      assert.deepEqual((await store.search("io.stor.cli", 10, 0)).hits, []);
    });

    await t.step(`${name}: a yank bumps the package seq and hides nothing from info`, async () => {
      const before = await store.packageSeq("io.store.cli");
      assert.equal(await store.setYanked("io.store.cli", "1.1.0", true), true);
      assert.ok(await store.packageSeq("io.store.cli") > before);
      assert.equal((await store.getVersion("io.store.cli", "1.1.0"))?.yanked, true);
      assert.equal(await store.setYanked("io.store.cli", "7.0.0", true), false);
    });

    await t.step(`${name}: the metadata document's reads together say what each says alone`, async () => {
      const doc = await store.getPackageDocument("io.store.cli");
      assert.deepEqual(doc, {
        info: await store.getPackage("io.store.cli"),
        owners: await store.getOwners("io.store.cli"),
        ownerLog: await store.getOwnerLog("io.store.cli"),
        seq: await store.packageSeq("io.store.cli"),
      });
      assert.equal(doc?.info.versions.find((v) => v.version === "1.1.0")?.yanked, true);
      assert.equal(await store.getPackageDocument("io.store.absent"), undefined);
    });

    await t.step(`${name}: blob references`, async () => {
      const sha = version("io.store.cli", "1.0.0").sha256;
      assert.equal(await store.isBlobReferenced(sha), true);
      assert.equal(await store.isBlobReferenced("f".repeat(64)), false);
      assert.ok((await store.listBlobDigests()).includes(sha));
    });

    await t.step(`${name}: tokens by hash, by id prefix, and revocation`, async () => {
      const row: TokenRow = {
        hash: "ab".repeat(32),
        name: "ci",
        scopes: "publish-new",
        id_prefix: "io.store",
        created_at: "2026-01-01T00:00:00Z",
        expires_at: "",
        revoked: 0,
      };
      await store.insertToken(row);
      await store.insertToken({ ...row, hash: "abcd" + "0".repeat(60), name: "other" });
      assert.equal((await store.findToken(row.hash))?.name, "ci");
      assert.equal((await store.findTokensByHashPrefix("abab")).length, 1);
      assert.equal((await store.findTokensByHashPrefix("ab")).length, 2, "ambiguous prefixes return both");
      assert.equal(await store.revokeToken(row.hash), true);
      assert.equal((await store.findToken(row.hash))?.revoked, 1);
      assert.equal(await store.revokeToken("00".repeat(32)), false);
    });

    await t.step(
      `${name}: export, listing by pages, and an import that is re-runnable but never overwrites`,
      async () => {
        assert.deepEqual(await store.listPackageIds("", 2), ["io.other.pkg", "io.store.cli"]);
        assert.deepEqual(await store.listPackageIds("io.store.cli", 10), ["io.store.cli-extra"]);
        const record = (await store.exportPackage("io.store.cli"))!;
        assert.equal(record.seq, await store.packageSeq("io.store.cli"));
        assert.deepEqual(record.versions.map((v) => v.version.version), ["1.0.0", "1.1.0"]);
        assert.equal(record.versions[1]!.publish_seq, 2);
        assert.equal(await store.importPackage(record), "unchanged");
        await assert.rejects(store.importPackage({ ...record, seq: record.seq + 1 }), ConflictError);
        const moved = { ...record, id: "io.store.moved", versions: [] };
        assert.equal(await store.importPackage(moved), "imported");
        assert.equal(await store.packageSeq("io.store.moved"), record.seq, "the seq clients saw is kept");
        assert.equal(await store.importToken((await store.listTokens())[0]!), false, "a token is never duplicated");
      },
    );

    await t.step(
      `${name}: every change to a package's document bumps its seq; a refused change bumps nothing`,
      async () => {
        // The registry keeps signed documents while their package's seq stands still (signed_docs.ts)
        const id = "io.store.seq";
        const seqs: number[] = [];
        const seen = async () => seqs.push(await store.packageSeq(id));
        const envelope = (n: number) => ({ payloadType: "test", payload: btoa(`change ${n}`), signatures: [] });
        await store.insertVersion(version(id, "1.0.0"), AUTH);
        await seen();
        await store.insertVersion(version(id, "1.1.0"), { ...AUTH, seq: 2 });
        await seen();
        await store.setYanked(id, "1.1.0", true);
        await seen();
        await store.setYanked(id, "1.1.0", false);
        await seen();
        await store.changeOwners(id, {
          action: "add",
          keyid: "SHA256:second",
          publicKey: "BBBB",
          seq: 1,
          envelope: envelope(1),
        });
        await seen();
        await store.changeOwners(id, {
          action: "remove",
          keyid: "SHA256:second",
          publicKey: "BBBB",
          seq: 2,
          envelope: envelope(2),
        });
        await seen();
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
        assert.equal(new Set(seqs).size, seqs.length, `seqs ${seqs.join(", ")}`);
        await assert.rejects(store.insertVersion(version(id, "1.0.0"), { ...AUTH, seq: 3 }), ConflictError);
        assert.equal(await store.setYanked(id, "9.9.9", true), false);
        await assert.rejects(
          store.changeOwners(id, {
            action: "remove",
            keyid: AUTH.keyid,
            publicKey: "AAAA",
            seq: 3,
            envelope: envelope(3),
          }),
          ConflictError,
        );
        assert.equal(await store.packageSeq(id), seqs.at(-1));
      },
    );
  } finally {
    await store.close();
  }
}

async function text(stream: ReadableStream<Uint8Array> | undefined): Promise<string> {
  assert.ok(stream, "the blob exists");
  return await new Response(stream).text();
}

/** Run the blob cases as steps of `t` against a fresh store from `open` */
export async function blobStoreConformance(
  t: Deno.TestContext,
  name: string,
  open: () => Promise<BlobStore>,
): Promise<void> {
  const store = await open();
  const bytes = new TextEncoder().encode("0123456789abcdef");
  const sha = sha256Hex(bytes);
  await t.step(`${name}: put, size, whole and ranged reads`, async () => {
    await store.put(sha, bytes);
    assert.equal(await store.size(sha), bytes.byteLength);
    assert.equal(await text(await store.open(sha)), "0123456789abcdef");
    assert.equal(await text(await store.open(sha, { start: 4, end: 9 })), "456789");
    assert.equal(await text(await store.open(sha, { start: 15, end: 15 })), "f");
  });
  await t.step(`${name}: absent blobs, listing, deletion`, async () => {
    assert.equal(await store.open("0".repeat(64)), undefined);
    assert.equal(await store.size("0".repeat(64)), undefined);
    assert.deepEqual(await store.list(), [sha]);
    await store.put(sha, bytes); // idempotent
    await store.delete(sha);
    assert.equal(await store.size(sha), undefined);
    assert.deepEqual(await store.list(), []);
    await store.delete(sha); // deleting twice is fine
  });
  await t.step(`${name}: ids that are not digests never reach the backend`, async () => {
    await assert.rejects(store.put("../../etc/passwd", bytes));
  });
}
