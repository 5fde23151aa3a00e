/**
 * Errors a user meets are ggen's own and say what to do: a busy port for the daemon and for the
 * registry names the port and the setting; bad arguments and settings exit 2 (usage or
 * configuration), other failures 1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, tempDir } from "./helpers.ts";

Deno.test("CLI errors: busy ports, bad ranges and arguments, exit codes", async (t) => {
  await using work = await tempDir();
  const home = join(work.path, "home");
  await Deno.mkdir(home);
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  try {
    await t.step("a daemon on a busy port: no libp2p advice, the flag to change", async () => {
      const r = await ggen(["p2p", "start", "--no-mdns", "--listen", `/ip4/127.0.0.1/tcp/${port}`], { home });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`Cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${port}: .*--listen`));
      assert.doesNotMatch(r.stderr, /faultTolerance|transportManager/);
    });
    await t.step("a registry on a busy port names it", async () => {
      const r = await ggen(["registry", "serve", "--port", String(port), "--data", join(work.path, "reg")], { home });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`Cannot serve the registry on 127\\.0\\.0\\.1:${port}: the port is in use`));
    });
  } finally {
    busy.close();
  }
  await t.step("bad arguments and settings exit 2", async () => {
    const range = await ggen(["install", "io.x.pkg@>>1"], { home, cwd: work.path });
    assert.equal(range.code, 2, range.stderr);
    assert.match(range.stderr, /Invalid version range ">>1"/);
    const yank = await ggen(["yank", "io.x.pkg"], { home });
    assert.equal(yank.code, 2, yank.stderr);
    assert.match(yank.stderr, /give ID@VERSION/);
    const mode = await ggen(["search", "x"], { home, env: { GGEN_MODE: "bogus" } });
    assert.equal(mode.code, 2, mode.stderr);
    assert.match(mode.stderr, /Invalid GGEN_MODE "bogus"/);
  });
});
