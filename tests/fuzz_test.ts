/**
 * Property-based fuzzing with fast-check, bounded so CI stays fast: the manifest parser, semver
 * ranges in resolution, the archive reader, the signature envelope and the registry's request
 * bodies. Each target may only fail with a typed error, never crash or hang. Counts are printed.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { packDirectory, readArchive } from "../src/archive/mod.ts";
import { apiPaths } from "../src/core/api.ts";
import { type Envelope, PAYLOAD_TYPES, signEnvelope, verifyEnvelope } from "../src/core/envelope.ts";
import { NotFoundError, TooLargeError, TrustError, ValidationError } from "../src/core/errors.ts";
import { silentLogger } from "../src/core/logger.ts";
import { parseManifest } from "../src/core/manifest.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { resolve } from "../src/core/resolve.ts";
import { createToken, startRegistryServer } from "../src/registry/server/mod.ts";
import { generateKey, loadSigner } from "../src/trust/mod.ts";
import { tempDir, writePackage } from "./helpers.ts";

const RUNS = Number(Deno.env.get("GGEN_FUZZ_RUNS") ?? 10_000);
const ASYNC_RUNS = Math.max(100, Math.floor(RUNS / 5));
const counts: Record<string, { runs: number; accepted: number; typedErrors: number }> = {};
function tally(target: string, ok: boolean): void {
  const c = (counts[target] ??= { runs: 0, accepted: 0, typedErrors: 0 });
  c.runs++;
  if (ok) c.accepted++;
  else c.typedErrors++;
}

const MANIFEST_FIELDS = fc.record({
  id: fc.oneof(fc.string(), fc.constantFrom("io.ggen.x", "a.b", "Io.X", "io..x", "io.x-y.z")),
  name: fc.oneof(fc.string(), fc.integer()),
  version: fc.oneof(fc.string(), fc.constantFrom("1.0.0", "1.0", "v1.0.0", "1.0.0-rc.1+b")),
  description: fc.string(),
  tags: fc.oneof(fc.array(fc.string()), fc.string()),
}, { requiredKeys: [] });

Deno.test("fuzz: manifest parser, semver resolution, archive reader, envelope, request bodies", async (t) => {
  await t.step("manifest parser", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          MANIFEST_FIELDS.map((m) =>
            `[package]\n${Object.entries(m).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n")}\n`
          ),
        ),
        (text) => {
          try {
            parseManifest(text);
            tally("manifest parser", true);
          } catch (err) {
            if (!(err instanceof ValidationError)) throw err;
            tally("manifest parser", false);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  await t.step("semver ranges in resolution", async () => {
    const v = (version: string): PackageVersion => ({
      id: "io.f.a",
      version,
      name: "a",
      description: "",
      tags: [],
      keywords: [],
      sha256: "0".repeat(64),
      size: 1,
      dependencies: {},
      yanked: false,
      published_at: "",
    });
    const info = () =>
      Promise.resolve({
        id: "io.f.a",
        name: "a",
        description: "",
        versions: ["0.1.0", "1.0.0", "1.2.3", "2.0.0-beta.1"].map(v),
      });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.constantFrom("^1", "~1.2", ">=1 <2", "*", "1.x", "^0.1 || ^2")),
        async (range) => {
          try {
            await resolve([{ id: "io.f.a", range }], info);
            tally("semver ranges", true);
          } catch (err) {
            if (!(err instanceof ValidationError || err instanceof NotFoundError)) throw err;
            tally("semver ranges", false);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  await using work = await tempDir();
  const good = await packDirectory(await writePackage(join(work.path, "pkg"), { id: "io.fuzz.pkg", version: "1.0.0" }));

  await t.step("archive reader (random bytes and mutated archives)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.tuple(fc.nat(good.bytes.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
            const b = good.bytes.slice();
            b[at]! ^= x;
            return b;
          }),
          fc.nat(good.bytes.length).map((n) => good.bytes.slice(0, n)),
        ),
        async (bytes) => {
          try {
            await readArchive(bytes, async (_e, body) => {
              for await (const _ of body) { /* drain */ }
            }, { maxUnpackedBytes: 1024 * 1024, maxEntries: 100 });
            tally("archive reader", true);
          } catch (err) {
            if (!(err instanceof ValidationError || err instanceof TooLargeError)) throw err;
            tally("archive reader", false);
          }
        },
      ),
      { numRuns: ASYNC_RUNS },
    );
  });

  await generateKey(work.path, "fuzz");
  const signer = await loadSigner(work.path, "fuzz");
  const valid = await signEnvelope(PAYLOAD_TYPES.publish, { hello: "world" }, signer);
  await t.step("signature envelope (mutations never verify, garbage is a TrustError)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record({ field: fc.constantFrom("payload", "payloadType", "sig", "keyid"), text: fc.string() }).map(
            ({ field, text }) => {
              const e: Envelope = structuredClone(valid);
              if (field === "sig" || field === "keyid") e.signatures[0]![field] = text;
              else e[field] = text;
              return e;
            },
          ),
        ),
        async (candidate) => {
          try {
            await verifyEnvelope(candidate as Envelope, PAYLOAD_TYPES.publish, signer.publicKeyRaw);
            assert.deepEqual(candidate, valid, "a mutated envelope verified");
            tally("envelope", true);
          } catch (err) {
            if (!(err instanceof TrustError)) throw err;
            tally("envelope", false);
          }
        },
      ),
      { numRuns: ASYNC_RUNS },
    );
  });

  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: {},
  });
  try {
    const token = (await createToken(server.metadata)).token;
    await t.step("registry request bodies (never a 5xx)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            apiPaths.version("io.fuzz.pkg", "1.0.0"),
            apiPaths.owners("io.fuzz.pkg"),
            apiPaths.yank("io.fuzz.pkg", "1.0.0"),
            apiPaths.search("x", 5, 0),
          ),
          fc.constantFrom("PUT", "POST", "GET"),
          fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.json().map((j) => new TextEncoder().encode(j))),
          fc.record({ sha: fc.oneof(fc.string(), fc.constant("0".repeat(64))) }),
          async (path, method, body, h) => {
            const res = await fetch(server.url + path, {
              method,
              ...(method === "GET" ? {} : { body: body as Uint8Array<ArrayBuffer> }),
              headers: { authorization: `Bearer ${token}`, "x-ggen-sha256": h.sha.replace(/[^\x20-\x7e]/g, "") },
            });
            await res.body?.cancel();
            assert.ok(res.status < 500, `${method} ${path} answered ${res.status}`);
            tally("request bodies", res.ok);
          },
        ),
        { numRuns: ASYNC_RUNS },
      );
    });
  } finally {
    await server.stop();
  }
  console.log("\n| fuzz target | runs | accepted | typed errors |\n| --- | --- | --- | --- |");
  for (const [k, c] of Object.entries(counts)) console.log(`| ${k} | ${c.runs} | ${c.accepted} | ${c.typedErrors} |`);
  await recordFigure(
    "fuzz",
    Object.entries(counts).map(([k, c]) => `${k}: ${c.runs} runs, ${c.typedErrors} typed errors`).join("; ") +
      "; 0 crashes, 0 untyped errors, 0 server 5xx",
  );
});
