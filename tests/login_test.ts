/** `ggen login` saves a token (from stdin, mode 0600) that `publish` then uses; `logout` forgets it */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCentral } from "./central_helpers.ts";
import { ggen, MAIN, RUN_FLAGS, tempDir, writePackage } from "./helpers.ts";

async function login(home: string, stdin: string, args: string[] = []): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, MAIN, "login", ...args],
    env: { GGEN_HOME: home, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("login: a saved token publishes; a malformed one is refused; logout forgets it", async () => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  try {
    const home = join(work.path, "home");
    await Deno.mkdir(home);
    const bad = await login(home, "ggen_not-a-token\n");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a ggen token/);

    const ok = await login(home, `${central.env.GGEN_TOKEN}\n`, ["--registry", central.server.url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await Deno.stat(join(home, "config.toml"))).mode! & 0o777, 0o600);
    // No GGEN_TOKEN and no GGEN_REGISTRY: both come from what login saved
    const pkg = await writePackage(join(work.path, "pkg"), { id: "io.login.pkg", version: "1.0.0" });
    const published = await ggen(["publish", pkg], { home });
    assert.equal(published.code, 0, published.stderr);

    assert.equal((await ggen(["logout"], { home })).code, 0);
    assert.doesNotMatch(await Deno.readTextFile(join(home, "config.toml")), /token/);
    const pkg2 = await writePackage(join(work.path, "pkg2"), { id: "io.login.two", version: "1.0.0" });
    const refused = await ggen(["publish", pkg2], { home });
    assert.notEqual(refused.code, 0, "published without a token");
  } finally {
    await central.stop();
  }
});
