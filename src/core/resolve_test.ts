import assert from "node:assert/strict";
import { ConflictError, NotFoundError } from "./errors.ts";
import type { PackageInfo, PackageVersion } from "./package.ts";
import { resolve } from "./resolve.ts";

function v(id: string, version: string, deps: Record<string, string> = {}, yanked = false): PackageVersion {
  return {
    id,
    version,
    name: id,
    description: "",
    tags: [],
    keywords: [],
    sha256: "0".repeat(64),
    size: 1,
    dependencies: deps,
    yanked,
    published_at: "2026-01-01T00:00:00Z",
  };
}

function registry(versions: PackageVersion[]) {
  return (id: string): Promise<PackageInfo> => {
    const list = versions.filter((x) => x.id === id);
    if (!list.length) return Promise.reject(new NotFoundError(`Package "${id}" not found`));
    return Promise.resolve({ id, name: id, description: "", versions: list });
  };
}

const DATA = [
  v("a.a", "1.0.0", { "b.b": "^1.0.0" }),
  v("a.a", "1.1.0", { "b.b": "^1.2.0" }),
  v("a.a", "2.0.0", {}, true),
  v("b.b", "1.0.0"),
  v("b.b", "1.2.0"),
  v("b.b", "1.3.0"),
  v("b.b", "2.0.0"),
  v("c.c", "1.0.0", { "b.b": "^2.0.0" }),
];

Deno.test("resolve() picks the highest matching non-yanked version with its dependencies", async () => {
  const out = await resolve([{ id: "a.a", range: "*" }], registry(DATA));
  assert.deepEqual(out.map((x) => `${x.id}@${x.version}`).sort(), ["a.a@1.1.0", "b.b@1.3.0"]);
});

Deno.test("resolve() keeps a locked version that still satisfies", async () => {
  const out = await resolve([{ id: "a.a", range: "^1" }], registry(DATA), {
    locked: new Map([["a.a", "1.0.0"], ["b.b", "1.0.0"]]),
  });
  assert.deepEqual(out.map((x) => `${x.id}@${x.version}`).sort(), ["a.a@1.0.0", "b.b@1.0.0"]);
});

Deno.test("resolve() with unlock all moves to the newest within ranges", async () => {
  const out = await resolve([{ id: "a.a", range: "^1" }], registry(DATA), {
    locked: new Map([["a.a", "1.0.0"], ["b.b", "1.0.0"]]),
    unlock: "all",
  });
  assert.deepEqual(out.map((x) => `${x.id}@${x.version}`).sort(), ["a.a@1.1.0", "b.b@1.3.0"]);
});

Deno.test("resolve() reports conflicting ranges with who asked", async () => {
  await assert.rejects(
    resolve([{ id: "a.a", range: "^1" }, { id: "c.c", range: "*" }], registry(DATA)),
    (err: Error) =>
      err instanceof ConflictError && /b\.b/.test(err.message) && /c\.c@1\.0\.0 requires "\^2\.0\.0"/.test(err.message),
  );
});

Deno.test("resolve() reports an unsatisfiable range and an unknown id", async () => {
  await assert.rejects(resolve([{ id: "a.a", range: "^3" }], registry(DATA)), NotFoundError);
  await assert.rejects(resolve([{ id: "x.x", range: "*" }], registry(DATA)), /Package "x.x" not found/);
});
