import assert from "node:assert/strict";
import { join } from "node:path";
import { createReputationBook } from "./reputation_book.ts";

Deno.test("reputation book: wrong bytes ban and hang up, bans persist across a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "reputation.json");
    const hungUp: string[] = [];
    const lines: string[] = [];
    const book = createReputationBook({
      log: (_l, m) => lines.push(m),
      hangUp: (p) => Promise.resolve(void hungUp.push(p)),
    }, { file, saveDelayMs: 10 });
    await book.load();
    book.judge("12D3KooWliar", "wrong-bytes", "sha256 mismatch");
    assert.equal(book.isBanned("12D3KooWliar"), true);
    assert.deepEqual(hungUp, ["12D3KooWliar"]);
    assert.match(lines.join("\n"), /banned peer 12D3KooWliar/);
    book.ban("12D3KooWother", 60_000);
    await book.stop();
    const again = createReputationBook({ log: () => {}, hangUp: () => Promise.resolve() }, { file });
    await again.load();
    assert.deepEqual(again.banned().sort(), ["12D3KooWliar", "12D3KooWother"]);
    again.unban("12D3KooWother");
    assert.deepEqual(again.banned(), ["12D3KooWliar"]);
    await again.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
