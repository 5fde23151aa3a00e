/**
 * The conformance suite every {@link Registry} runs (spegel's storetest, libp2p's
 * interface-compliance-tests): the same cases against central (a real server), P2P (real
 * nodes), hybrid and memory. A backend passes `setup`, which returns the registry under test
 * and a way to publish into it.
 * @module
 */
import assert from "node:assert/strict";
import { createSha256 } from "../../core/digest.ts";
import { NotFoundError } from "../../core/errors.ts";
import type { PackageVersion } from "../../core/package.ts";
import type { Registry } from "../../core/registry.ts";

/** A package ready to publish: its signed version and its tarball */
export interface ConformancePackage {
  version: PackageVersion;
  tarball: Uint8Array;
}

/** What a backend gives the suite */
export interface ConformanceSetup {
  registry: Registry;
  /** Make `pkg` available through `registry` */
  publish(pkg: ConformancePackage): Promise<void>;
  close(): Promise<void>;
}

async function digestOf(body: ReadableStream<Uint8Array>): Promise<string> {
  const h = await createSha256();
  for await (const chunk of body) h.update(chunk);
  return h.hex();
}

/** Run the suite as steps of `t` */
export async function registryConformance(
  t: Deno.TestContext,
  setup: () => Promise<ConformanceSetup>,
  packages: ConformancePackage[],
): Promise<void> {
  const s = await setup();
  try {
    for (const pkg of packages) await s.publish(pkg);
    const [first] = packages;
    assert.ok(first, "the suite needs at least one package");

    await t.step(`${s.registry.name}: info lists every published version with its digest and size`, async () => {
      const info = await s.registry.info(first.version.id);
      assert.equal(info.id, first.version.id);
      for (const pkg of packages.filter((p) => p.version.id === first.version.id)) {
        const v = info.versions.find((x) => x.version === pkg.version.version);
        assert.ok(v, `${pkg.version.version} listed`);
        assert.equal(v.sha256, pkg.version.sha256);
        assert.equal(v.size, pkg.version.size);
      }
    });

    await t.step(`${s.registry.name}: an unknown id is a NotFoundError`, async () => {
      await assert.rejects(s.registry.info("io.conformance.missing"), NotFoundError);
    });

    await t.step(`${s.registry.name}: search finds a package by its id, exact id first`, async () => {
      const hits = await s.registry.search({ text: first.version.id, limit: 10 });
      assert.equal(hits[0]?.id, first.version.id);
    });

    await t.step(`${s.registry.name}: open streams exactly the published bytes`, async () => {
      const stream = await s.registry.open(first.version);
      assert.equal(await digestOf(stream.body), first.version.sha256);
      assert.equal(typeof stream.source, "string");
    });

    await t.step(`${s.registry.name}: an aborted call rejects with the abort`, async () => {
      const controller = new AbortController();
      controller.abort(new DOMException("Cancelled", "AbortError"));
      await assert.rejects(
        s.registry.info(first.version.id, { signal: controller.signal }),
        (err: Error) => err.name === "AbortError",
      );
    });
  } finally {
    await s.close();
  }
}
