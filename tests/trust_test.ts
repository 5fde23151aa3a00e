/**
 * Signatures and trust against the attack classes of The Update Framework that apply to ggen,
 * one row each, with a real registry server, real keys and the real CLI. Prints a summary table.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { apiPaths, PUBLIC_KEY_HEADER, SHA256_HEADER, SIGNATURE_HEADER } from "../src/core/api.ts";
import {
  type Envelope,
  fingerprint,
  type MetadataStatement,
  PAYLOAD_TYPES,
  signEnvelope,
} from "../src/core/envelope.ts";
import { toBase64 } from "../src/core/bytes.ts";
import { TrustError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { type PackageInfo, versionFromManifest } from "../src/core/package.ts";
import { createCentralRegistry } from "../src/registry/client/mod.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import {
  generateKey,
  loadSigner,
  openTrustStore,
  signVersion,
  verifyMetadata,
  verifyPublisher,
} from "../src/trust/mod.ts";
import { ggen, jsonLines, tempDir, writePackage } from "./helpers.ts";

const summary: { attack: string; refused: boolean; how: string }[] = [];
async function expectRefused(attack: string, p: Promise<unknown>, pattern: RegExp): Promise<void> {
  let refused = false;
  let how = "accepted";
  try {
    await p;
  } catch (err) {
    refused = err instanceof TrustError && pattern.test((err as Error).message);
    how = `${(err as Error).name}: ${(err as Error).message.slice(0, 90)}`;
  }
  summary.push({ attack, refused, how });
  assert.ok(refused, `${attack}: ${how}`);
}

Deno.test("trust: TUF attack classes are refused; key rotation through the owner log is accepted", async (t) => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, { dataDir: join(work.path, "reg"), port: 0 });
  try {
    const { token } = await createToken(server.metadata);
    const alice = join(work.path, "alice");
    const client = join(work.path, "client");
    const project = join(work.path, "project");
    for (const d of [alice, client, project]) await Deno.mkdir(d);
    const env = { GGEN_REGISTRY: server.url, GGEN_TOKEN: token, GGEN_MODE: "central" };
    const pkg = (v: string) => writePackage(join(work.path, `pkg-${v}`), { id: "io.trust.pkg", version: v });
    await ggen(["key", "generate"], { home: alice, env });
    const pub1 = await ggen(["publish", await pkg("1.0.0"), "--json"], { home: alice, env });
    assert.equal(pub1.code, 0, pub1.stderr);
    const aliceKey = jsonLines<{ keyid: string }>(pub1.stdout)[0]!.keyid;
    const install = await ggen(["install", "io.trust.pkg", "--json"], { home: client, cwd: project, env });
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stderr, /Trusting SHA256:.* for "io.trust.pkg" \(first use/);
    assert.match(
      await Deno.readTextFile(join(project, "ggen.lock")),
      new RegExp(`publisher_key = "${aliceKey.replace(/[+/]/g, "\\$&")}"`),
    );
    const central = createCentralRegistry({ logger: silentLogger }, { url: server.url, token });
    const info1 = await central.info("io.trust.pkg");

    // An attacker's key, and a package signed by it
    const mallory = join(work.path, "mallory");
    await generateKey(mallory, "evil");
    const evil = await loadSigner(mallory, "evil");
    const packed2 = await packDirectory(await pkg("2.0.0"));
    const forged = await signVersion(versionFromManifest(packed2.manifest, packed2), evil, Date.now());

    await t.step("server: unsigned, non-owner and replayed-seq publishes are refused", async () => {
      const put = (headers: Record<string, string>) =>
        fetch(server.url + apiPaths.version("io.trust.pkg", "2.0.0"), {
          method: "PUT",
          body: packed2.bytes as Uint8Array<ArrayBuffer>,
          headers: { authorization: `Bearer ${token}`, [SHA256_HEADER]: packed2.sha256, ...headers },
        });
      let res = await put({});
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /Unsigned publish/);
      res = await put({
        [SIGNATURE_HEADER]: toBase64(new TextEncoder().encode(JSON.stringify(forged.signature))),
        [PUBLIC_KEY_HEADER]: forged.publisher_key!,
      });
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /is not an owner/);
      const aliceSigner = await loadSigner(alice);
      const replay = await signVersion(versionFromManifest(packed2.manifest, packed2), aliceSigner, 1);
      res = await put({
        [SIGNATURE_HEADER]: toBase64(new TextEncoder().encode(JSON.stringify(replay.signature))),
        [PUBLIC_KEY_HEADER]: replay.publisher_key!,
      });
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /signed seq 1 is not above/);
      const v1 = info1.versions[0]!;
      res = await put({
        [SIGNATURE_HEADER]: toBase64(new TextEncoder().encode(JSON.stringify(v1.signature))),
        [PUBLIC_KEY_HEADER]: v1.publisher_key!,
      });
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /its signature is for "io.trust.pkg@1.0.0"/);
      summary.push({ attack: "unsigned, non-owner and replayed-seq publishes", refused: true, how: "403 each" });
    });

    const store = await openTrustStore(client);
    await t.step("arbitrary package: a version signed by another key", async () => {
      await expectRefused(
        "arbitrary package (wrong key)",
        verifyPublisher(forged, info1, store),
        new RegExp(`signed by key ${evil.keyid.replace(/[+/]/g, "\\$&")}.*pinned to .*ggen trust io.trust.pkg`),
      );
    });
    await t.step("arbitrary package end to end: a compromised registry database", async () => {
      await server.metadata.insertVersion(forged, {
        keyid: aliceKey,
        publicKey: forged.publisher_key!,
        seq: Date.now(),
      });
      await server.blobs.put(packed2.sha256, packed2.bytes);
      const r = await ggen(["install", "io.trust.pkg@2.0.0"], { home: client, cwd: project, env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is pinned to SHA256:.*If you trust the new key, run: ggen trust io.trust.pkg SHA256:/);
      assert.doesNotMatch(await Deno.readTextFile(join(project, "ggen.lock")), /2\.0\.0/);
      summary.push({
        attack: "a foreign-signed version from a compromised registry database",
        refused: true,
        how: "install exits 1, lock unchanged",
      });
    });
    await t.step("mix-and-match: a valid signature for another version", async () => {
      const v1 = info1.versions[0]!;
      await expectRefused(
        "mix-and-match (signature of 1.0.0 on 2.0.0)",
        verifyPublisher({ ...forged, signature: v1.signature!, publisher_key: v1.publisher_key! }, info1, store),
        /its signature is for "io.trust.pkg@1.0.0"/,
      );
    });
    await t.step("unknown key id: an envelope whose keyid is not the presented key", async () => {
      const v1 = info1.versions[0]!;
      const renamed: Envelope = {
        ...v1.signature!,
        signatures: [{ ...v1.signature!.signatures[0]!, keyid: "SHA256:unknown" }],
      };
      await expectRefused(
        "unknown key id",
        verifyPublisher({ ...v1, signature: renamed }, info1, store),
        /unknown key/,
      );
    });
    const regKey = toBase64(server.registryKey.publicKeyRaw);
    await t.step("rollback: older signed metadata after newer was seen", async () => {
      const latest = await central.info("io.trust.pkg");
      const seen = await openTrustStore(join(work.path, "fresh"));
      await verifyMetadata(latest, seen, { configuredKey: regKey });
      await expectRefused("rollback (older seq)", verifyMetadata(info1, seen, { configuredKey: regKey }), /rollback/);
    });
    await t.step("fast-forward: a huge seq signed by a key that is not the registry's", async () => {
      const seen = await openTrustStore(join(work.path, "ff"));
      const statement = JSON.parse(atob(info1.metadata_signature!.payload)) as MetadataStatement;
      const ff: PackageInfo = {
        ...info1,
        metadata_signature: await signEnvelope(PAYLOAD_TYPES.metadata, { ...statement, seq: 1e12 }, evil),
      };
      await expectRefused(
        "fast-forward (seq from a non-registry key)",
        verifyMetadata(ff, seen, { configuredKey: regKey }),
        /unknown key/,
      );
      assert.equal(seen.metadataSeq("io.trust.pkg"), 0);
    });
    await t.step("freeze: expired metadata", async () => {
      const frozen = await startRegistryServer({ logger: silentLogger }, {
        dataDir: join(work.path, "reg"),
        port: 0,
        metadataTtlMs: -1000,
      });
      try {
        const old = await createCentralRegistry({ logger: silentLogger }, { url: frozen.url }).info("io.trust.pkg");
        await expectRefused(
          "freeze (expired metadata)",
          verifyMetadata(old, await openTrustStore(join(work.path, "fz")), { configuredKey: regKey }),
          /expired/,
        );
        // The same document kept in the metadata cache is used when central cannot be asked: still
        // the registry's signature, still no rollback, only the expiry is forgiven
        await verifyMetadata(
          { ...old, source: "cache" },
          await openTrustStore(join(work.path, "fz-cache")),
          { configuredKey: regKey },
        );
        const forged = { ...old, source: "cache" as const, versions: [] };
        await assert.rejects(
          verifyMetadata(forged, await openTrustStore(join(work.path, "fz-cache2")), { configuredKey: regKey }),
          /do not match/,
        );
      } finally {
        await frozen.stop();
      }
    });
    await t.step("tampered versions under a valid registry signature", async () => {
      const tampered = { ...info1, versions: [{ ...info1.versions[0]!, sha256: "0".repeat(64) }] };
      await expectRefused(
        "tampered metadata",
        verifyMetadata(tampered, await openTrustStore(join(work.path, "tm")), { configuredKey: regKey }),
        /do not match/,
      );
    });
    await t.step("endless data: an oversized metadata document", async () => {
      const huge = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response("x".repeat(9 * 1024 * 1024)),
      );
      try {
        const c = createCentralRegistry({ logger: silentLogger }, { url: `http://127.0.0.1:${huge.addr.port}` });
        await expectRefused(
          "endless data (9 MiB metadata)",
          c.info("io.trust.pkg"),
          /over the \d+-byte limit|more than the/,
        );
      } finally {
        await huge.shutdown();
      }
    });
    await t.step("key rotation walk: old key adds the new one, the new one removes the old", async () => {
      await server.metadata.setYanked("io.trust.pkg", "2.0.0", true);
      const bob = join(work.path, "bob");
      await Deno.mkdir(bob);
      const bobKey = await generateKey(bob);
      const aliceExport = jsonLines<{ public_key: string }>(
        (await ggen(["key", "export", "--json"], { home: alice })).stdout,
      )[0]!;
      const add = await ggen(["owner", "add", "io.trust.pkg", bobKey.publicKey], { home: alice, env });
      assert.equal(add.code, 0, add.stderr);
      const remove = await ggen(["owner", "remove", "io.trust.pkg", aliceExport.public_key], { home: bob, env });
      assert.equal(remove.code, 0, remove.stderr);
      const oldKeyPublish = await ggen(["publish", await pkg("3.0.0")], { home: alice, env });
      assert.equal(oldKeyPublish.code, 1);
      assert.match(oldKeyPublish.stderr, /is not an owner/);
      const pub = await ggen(["publish", await pkg("3.0.0")], { home: bob, env });
      assert.equal(pub.code, 0, pub.stderr);
      const r = await ggen(["install", "io.trust.pkg@3.0.0", "--json"], { home: client, cwd: project, env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Accepted rotated key .* via its signed owner log/);
      assert.equal(jsonLines<{ publisher_key: string }>(r.stdout)[0]?.publisher_key, bobKey.keyid);
      summary.push({
        attack: "key rotation walk (legitimate: must be accepted)",
        refused: false,
        how: "accepted via owner log",
      });
      assert.equal(fingerprint(Uint8Array.from(atob(bobKey.publicKey), (c) => c.charCodeAt(0))), bobKey.keyid);
    });
    await t.step("ggen trust accepts a new key explicitly", async () => {
      const r = await ggen(["trust", "io.trust.pkg", evil.keyid], { home: client });
      assert.equal(r.code, 0, r.stderr);
      const s = await openTrustStore(client);
      assert.deepEqual(s.pinned("io.trust.pkg"), [evil.keyid]);
      const ok = await verifyPublisher(forged, undefined, s);
      assert.equal(ok.how, "pinned");
    });
  } finally {
    await server.stop();
    console.log("\n| attack class | refused | how |\n| --- | --- | --- |");
    for (const r of summary) {
      console.log(`| ${r.attack} | ${r.refused ? "yes" : "no"} | ${r.how.replaceAll("|", "/")} |`);
    }
    await recordFigure(
      "trust",
      summary.map((r) => `${r.attack}: ${r.refused ? "refused" : "accepted"}`).join("; "),
    );
  }
});
