import assert from "node:assert/strict";
import { TrustError } from "../core/mod.ts";
import type { PackageInfo, PackageVersion } from "../core/mod.ts";
import { generateKey, loadSigner, signVersion, trustedPeerVersions } from "./mod.ts";
import { recordFigure } from "../../tests/figures.ts";

async function info(dir: string): Promise<{ doc: PackageInfo; owner: string; attacker: string }> {
  await generateKey(dir, "owner");
  await generateKey(dir, "attacker");
  const owner = await loadSigner(dir, "owner");
  const attacker = await loadSigner(dir, "attacker");
  const v = (version: string): PackageVersion => ({
    id: "io.squat.pkg",
    version,
    name: "p",
    description: "d",
    tags: [],
    keywords: [],
    sha256: "d".repeat(64),
    size: 1,
    dependencies: {},
    yanked: false,
    published_at: "2026-01-01T00:00:00Z",
  });
  const versions = [
    await signVersion(v("1.0.0"), owner, 1),
    await signVersion(v("1.1.0"), owner, 2),
    await signVersion(v("9.9.9"), attacker, 3),
  ];
  return {
    doc: { id: "io.squat.pkg", name: "p", description: "d", versions, source: "p2p" },
    owner: owner.keyid,
    attacker: attacker.keyid,
  };
}

Deno.test("peer versions: a pinned key keeps only its versions; conflicting signers are refused on first use", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { doc, owner, attacker } = await info(dir);
    // Pinned: the attacker's higher version never shadows the owner's; the highest pinned one is chosen later
    const pinned = trustedPeerVersions(doc, { pinned: [owner], trustedPublishers: [] });
    assert.deepEqual(pinned.versions.map((v) => v.version), ["1.0.0", "1.1.0"]);
    // First use with two signers: refused, naming both, without taking a side
    assert.throws(() => trustedPeerVersions(doc, { pinned: [], trustedPublishers: [] }), (err: Error) => {
      assert.ok(err instanceof TrustError);
      assert.ok(err.message.includes(owner) && err.message.includes(attacker));
      return true;
    });
    // A private network's trusted publishers decide on first use
    const trusted = trustedPeerVersions(doc, { pinned: [], trustedPublishers: [owner] });
    assert.deepEqual(trusted.versions.map((v) => v.version), ["1.0.0", "1.1.0"]);
    // Only the attacker's key pinned would be refused without suggesting to trust anything
    assert.throws(
      () =>
        trustedPeerVersions({ ...doc, versions: doc.versions.slice(2) }, { pinned: [owner], trustedPublishers: [] }),
      (err: Error) => err instanceof TrustError && !/ggen trust/.test(err.message),
    );
    // First use, one signer: min_sources counts the distinct peers that returned each version's record
    const owners = { ...doc, versions: doc.versions.slice(0, 2) };
    const lone = { ...owners, vouchers: { "1.0.0": 1, "1.1.0": 1 } };
    assert.throws(
      () => trustedPeerVersions(lone, { pinned: [], trustedPublishers: [], minSources: 3 }),
      (err: Error) => {
        assert.ok(err instanceof TrustError);
        assert.match(err.message, /at most 1 peer\(s\) vouch for it.*fewer than min_sources \(3\)/);
        return true;
      },
    );
    const some = trustedPeerVersions({ ...owners, vouchers: { "1.0.0": 3, "1.1.0": 1 } }, {
      pinned: [],
      trustedPublishers: [],
      minSources: 3,
    });
    assert.deepEqual(some.versions.map((v) => v.version), ["1.0.0"]);
    // A pinned key settles it: no count needed
    assert.equal(
      trustedPeerVersions(lone, { pinned: [owner], trustedPublishers: [], minSources: 3 }).versions.length,
      2,
    );
    await recordFigure(
      "version-squatting",
      "owner 1.0.0 and 1.1.0, attacker 9.9.9: with the owner pinned, 1.0.0 and 1.1.0 considered (9.9.9 never); " +
        "first use with both signers: refused naming both fingerprints; trusted_publishers: the owner's only; " +
        "first use with one signer returned by 1 peer and min_sources 3: refused, saying so; a version returned by 3 " +
        "peers kept, one returned by 1 dropped",
    );
    // Central documents are the registry's business, untouched here
    assert.equal(
      trustedPeerVersions({ ...doc, source: "central" }, { pinned: [], trustedPublishers: [] }).versions.length,
      3,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
