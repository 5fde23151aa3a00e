/** The served-by table: bounded, persisted, and a hostile file loses nothing but its bad rows */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createServedBy } from "./served_by.ts";

const PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const ADDR = `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`;

Deno.test("served-by: records newest first, persists, and drops hostile rows on load", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "served-by.json");
    const table = createServedBy({ log: () => {} }, { file, saveDelayMs: 10 });
    const sha = "a".repeat(64);
    table.record(sha, PEER, ADDR);
    table.record(sha, PEER, ADDR);
    assert.deepEqual(table.peersFor(sha), [{ peerId: PEER, addrs: [ADDR] }], "one row per peer");
    await table.stop();

    const again = createServedBy({ log: () => {} }, { file });
    await again.load();
    assert.deepEqual(again.peersFor(sha), [{ peerId: PEER, addrs: [ADDR] }]);

    await Deno.writeTextFile(
      file,
      JSON.stringify({
        [sha]: [{ peerId: "not-a-peer", addrs: [] }, { peerId: PEER, addrs: ["not a multiaddr"] }, {
          peerId: PEER,
          addrs: [ADDR],
        }],
        "../../etc/passwd": [{ peerId: PEER, addrs: [ADDR] }],
      }),
    );
    const hostile = createServedBy({ log: () => {} }, { file });
    await hostile.load();
    assert.deepEqual(hostile.peersFor(sha), [{ peerId: PEER, addrs: [ADDR] }]);
    assert.deepEqual(hostile.peersFor("../../etc/passwd"), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
