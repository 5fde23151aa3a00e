/**
 * Property tests of every parser that reads what the network sends to a client (issue 10):
 * central answers (package documents, search results, registry key, owners), daemon answers,
 * DHT records and announcements (catalog answers are announcements too). Inputs are random
 * JSON shapes and valid documents with one field replaced by a hostile value. A parser may
 * only return a value whose ids, versions, hashes and sizes are valid, or throw a typed error.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { isSha256Hex } from "../src/core/digest.ts";
import { TrustError, ValidationError } from "../src/core/errors.ts";
import type { PackageInfo, PackageVersion } from "../src/core/package.ts";
import { isValidPackageId, isValidVersion } from "../src/core/text.ts";
import { recordFigure } from "./figures.ts";
import { parseOwnersResponse, parsePackageInfo, parseRegistryKey, parseSearchResponse } from "../src/core/wire.ts";
import { parseDaemonAnswer } from "../src/p2p/daemon_auth.ts";
import { announcementOf, encodeJson, validateAnnouncement, validateRecord, versionRecordOf } from "../src/p2p/mod.ts";

const RUNS = Number(Deno.env.get("GGEN_FUZZ_RUNS") ?? 10_000);
const counts: Record<string, { runs: number; accepted: number; refused: number }> = {};

/** Run `parse`; a typed refusal counts, any other error fails the property */
function attempt<T>(target: string, parse: () => T, check: (value: T) => void): void {
  const c = (counts[target] ??= { runs: 0, accepted: 0, refused: 0 });
  c.runs++;
  let value: T;
  try {
    value = parse();
  } catch (err) {
    if (err instanceof ValidationError || err instanceof TrustError) {
      c.refused++;
      return;
    }
    throw err;
  }
  c.accepted++;
  check(value);
}

const HOSTILE = fc.constantFrom<unknown>(
  "../../../../tmp/x",
  "..",
  "/etc/passwd",
  "io.a/../../b",
  "1.0.0/../../x",
  "C:\\windows",
  "\x1b[2J\x1b]0;t\x07",
  "\u202eexe.txt",
  "",
  -1,
  1.5,
  2 ** 53,
  1e308,
  null,
  true,
  {},
  [],
  [1, "a"],
  { "__proto__": { polluted: true } },
  "a".repeat(70_000),
  "1.0.0+build.5",
  "io.ggen.ok",
);

const VERSION: PackageVersion = {
  id: "io.ggen.pkg",
  version: "1.2.3",
  name: "Pkg",
  description: "A package",
  tags: ["t"],
  keywords: ["k"],
  sha256: "a".repeat(64),
  size: 10,
  dependencies: { "io.ggen.dep": "^1" },
  yanked: false,
  published_at: "2026-01-01T00:00:00Z",
  signature: { payloadType: "x", payload: "e30=", signatures: [{ keyid: "SHA256:x", sig: "AA==" }] },
  publisher_key: "AAAA",
};
const INFO: PackageInfo = { id: "io.ggen.pkg", name: "Pkg", description: "d", versions: [VERSION, VERSION] };

/** Every path of a JSON value, for mutation */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [prefix];
  const out: (string | number)[][] = [prefix];
  for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  return out;
}

/** A deep copy of `doc` with the value at `path` replaced */
function mutate(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  Object.defineProperty(at, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function mutations(doc: unknown): fc.Arbitrary<unknown> {
  const all = paths(doc);
  return fc.tuple(fc.integer({ min: 0, max: all.length - 1 }), HOSTILE).map(([i, v]) => mutate(doc, all[i]!, v));
}

function shapes(doc: unknown): fc.Arbitrary<unknown> {
  return fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.anything({ maxDepth: 3 }), mutations(doc), mutations(doc));
}

function checkVersion(v: PackageVersion): void {
  assert.ok(isValidPackageId(v.id) && isValidVersion(v.version) && isSha256Hex(v.sha256));
  assert.ok(Number.isSafeInteger(v.size) && v.size >= 0);
  for (const dep of Object.keys(v.dependencies)) assert.ok(isValidPackageId(dep));
}

Deno.test("fuzz: client-side parsers of network answers accept only valid documents", async (t) => {
  await t.step("package documents (central, and P2P after records)", () => {
    fc.assert(
      fc.property(
        shapes(INFO),
        (doc) =>
          attempt("package document", () => parsePackageInfo(doc, "io.ggen.pkg"), (info) => {
            assert.equal(info.id, "io.ggen.pkg");
            for (const v of info.versions) {
              assert.equal(v.id, "io.ggen.pkg");
              checkVersion(v);
            }
          }),
      ),
      { numRuns: RUNS },
    );
  });

  await t.step("search results, registry key, owners", () => {
    const search = { total: 1, hits: [{ id: "io.a.b", name: "n", version: "1.0.0", description: "d", tags: ["x"] }] };
    const owners = { owners: [{ keyid: "SHA256:a", public_key: "AAAA" }], owner_log: [VERSION.signature] };
    fc.assert(
      fc.property(shapes(search), shapes({ keyid: "SHA256:a", public_key: "AAAA" }), shapes(owners), (s, k, o) => {
        attempt("search results", () => parseSearchResponse(s), (r) => {
          for (const h of r.hits) assert.ok(isValidPackageId(h.id) && isValidVersion(h.version));
        });
        attempt("registry key", () => parseRegistryKey(k), (r) => assert.equal(typeof r.public_key, "string"));
        attempt("owners", () => parseOwnersResponse(o), (r) => assert.ok(Array.isArray(r.owners)));
      }),
      { numRuns: RUNS },
    );
  });

  await t.step("daemon answers", () => {
    fc.assert(
      fc.property(shapes({ ok: true, value: { peerId: "p" } }), (body) => {
        const bytes = new TextEncoder().encode(JSON.stringify(body) ?? "");
        const c = (counts["daemon answer"] ??= { runs: 0, accepted: 0, refused: 0 });
        c.runs++;
        try {
          parseDaemonAnswer(bytes);
          c.accepted++;
        } catch (err) {
          // A daemon may report any domain error by name: it comes back as an Error, never a crash
          assert.ok(err instanceof Error);
          c.refused++;
        }
      }),
      { numRuns: RUNS },
    );
  });

  await t.step("DHT records and announcements (catalog answers are announcements)", () => {
    const record = versionRecordOf(VERSION, "12D3KooWpublisher", Date.now());
    const announcement = announcementOf(VERSION, "12D3KooWpeer", Date.now());
    fc.assert(
      fc.property(shapes(record), shapes(announcement), (r, a) => {
        attempt("DHT version record", () => validateRecord("/ggen/io.ggen.pkg/1.2.3", encodeJson(r)), (v) => {
          assert.ok(isValidPackageId(v.package_id));
        });
        attempt("announcement", () => validateAnnouncement(encodeJson(a)), (v) => {
          assert.ok(isValidPackageId(v.package_id) && isValidVersion(v.version) && isSha256Hex(v.sha256));
        });
      }),
      { numRuns: Math.max(100, Math.floor(RUNS / 2)) },
    );
  });

  await recordFigure(
    "client-fuzz",
    Object.entries(counts).map(([k, c]) => `${k}: ${c.runs} runs, ${c.accepted} accepted, ${c.refused} refused`)
      .join("; ") + "; 0 untyped errors",
  );
  console.log(
    "\n| client parser | runs | accepted | refused (typed) |\n| --- | --- | --- | --- |\n" +
      Object.entries(counts).map(([k, c]) => `| ${k} | ${c.runs} | ${c.accepted} | ${c.refused} |`).join("\n"),
  );
});
