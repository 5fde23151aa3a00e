/**
 * `ggen demo` (the README's first command) shows the point of ggen: after the central install,
 * the registry stops and a fresh machine installs the same package from a peer.
 */
import assert from "node:assert/strict";
import { recordFigure } from "./figures.ts";
import { ggen, tempDir } from "./helpers.ts";

Deno.test("demo: central install, then central stopped and the same package installed from a peer", async () => {
  await using work = await tempDir();
  const r = await ggen(["demo"], { home: work.path });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Stopped the registry/);
  const fromPeer = r.stdout.split("\n").filter((l) => /installed .*: bytes from peer 12D3Koo/.test(l));
  assert.equal(fromPeer.length, 3, r.stdout);
  assert.match(r.stderr, /the registry's signed document, re-shared by peer/);
  await recordFigure(
    "demo",
    `\`ggen demo\`: central install, registry stopped, ${fromPeer.length} packages installed on a fresh machine ` +
      "from a peer with the registry's re-shared signed documents",
  );
});
