import assert from "node:assert/strict";
import { join } from "node:path";
import { projectRoot } from "./project.ts";

Deno.test("projectRoot: the nearest directory with ggen.lock or ggen.toml, else the start", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const deep = join(dir, "app", "src", "deep");
    await Deno.mkdir(deep, { recursive: true });
    assert.equal(projectRoot(deep), deep, "no project above: the start itself");
    await Deno.writeTextFile(join(dir, "app", "ggen.lock"), "");
    assert.equal(projectRoot(deep), join(dir, "app"));
    await Deno.writeTextFile(join(dir, "app", "src", "ggen.toml"), "");
    assert.equal(projectRoot(deep), join(dir, "app", "src"), "the nearest wins");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
