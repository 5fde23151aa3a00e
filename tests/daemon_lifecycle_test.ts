/**
 * One daemon per home (issue 15, item 3): a second `ggen p2p start` on the same GGEN_HOME is
 * refused and leaves the first one's daemon.json alone; `ggen p2p stop` stops it; a stale
 * daemon.json is recognised and removed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ggen, MAIN, runFlags, stopChild, tempDir } from "./helpers.ts";
import { startDaemon } from "./p2p_helpers.ts";

Deno.test("daemon lifecycle: one per home, ggen p2p stop, stale files", async () => {
  await using work = await tempDir();
  const home = join(work.path, "home");
  const daemon = await startDaemon(home);
  try {
    const file = await Deno.readTextFile(join(home, "daemon.json"));
    const second = await ggen(["p2p", "start", "--listen", "/ip4/127.0.0.1/tcp/0"], { home });
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already runs for .* \(PeerId 12D3Koo\w+\): stop it with `ggen p2p stop`/);
    assert.equal(await Deno.readTextFile(join(home, "daemon.json")), file, "the second start touched daemon.json");

    const stop = await ggen(["p2p", "stop", "--json"], { home });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(JSON.parse(stop.stdout).peer_id, daemon.peerId);
    const exited = await Promise.race([
      daemon.child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    assert.ok(exited, "the daemon did not exit after ggen p2p stop");
    await assert.rejects(Deno.stat(join(home, "daemon.json")), Deno.errors.NotFound);
    const again = await ggen(["p2p", "stop"], { home });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /No P2P daemon runs/);

    // A daemon that died without cleaning up: its file names a port nobody answers on
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await Deno.writeTextFile(
      join(home, "daemon.json"),
      JSON.stringify({ pid: 999_999, port, token: "0".repeat(64), peerId: daemon.peerId, listenAddrs: [] }),
      { mode: 0o600 },
    );
    const stale = await ggen(["p2p", "stop"], { home });
    assert.equal(stale.code, 0, stale.stderr);
    assert.match(stale.stderr, /Removed a stale .*daemon\.json \(pid 999999 does not answer\)/);
    await assert.rejects(Deno.stat(join(home, "daemon.json")), Deno.errors.NotFound);
  } finally {
    await daemon.stop();
  }
});

Deno.test("daemon lifecycle: a SIGINT during start-up stops the daemon", async () => {
  await using work = await tempDir();
  const home = join(work.path, "home");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...runFlags(["p2p", "start"]),
      MAIN,
      "p2p",
      "start",
      "-v",
      "--listen",
      "/ip4/127.0.0.1/tcp/0",
    ],
    env: { GGEN_HOME: home, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // The worker's node is up, the control API not yet: the window in which the signal used to be lost
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!/listening on/.test(log)) {
    const { done, value } = await lines.read();
    if (done) break;
    log += value;
  }
  const drained = (async () => {
    while (!(await lines.read()).done) { /* drain */ }
  })();
  const status = await stopChild(child);
  await drained;
  assert.ok(!status.killed, "the daemon ignored a SIGINT sent during its start-up");
});
