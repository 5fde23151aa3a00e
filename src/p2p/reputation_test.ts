import assert from "node:assert/strict";
import { BAN_MS, HALF_LIFE_MS, Reputation } from "./reputation.ts";

Deno.test("Reputation: wrong bytes ban at once, stalls add up, scores decay, bans expire, unban works", () => {
  let now = 1_000_000;
  const r = new Reputation(() => now);
  assert.equal(r.record("liar", "wrong-bytes"), true);
  assert.equal(r.isBanned("liar"), true);
  for (let i = 0; i < 3; i++) r.record("slow", "stall");
  assert.equal(r.isBanned("slow"), false);
  assert.equal(r.record("slow", "stall"), true);
  r.record("good", "verified-transfer");
  r.record("good", "verified-transfer");
  assert.equal(r.score("good"), 2);
  now += HALF_LIFE_MS;
  assert.equal(r.score("good"), 1);
  now += BAN_MS;
  assert.equal(r.isBanned("liar"), false);
  r.ban("manual", 1000);
  assert.deepEqual(r.banned(), ["manual"]);
  r.unban("manual");
  assert.equal(r.isBanned("manual"), false);
  const copy = new Reputation(() => now);
  copy.load(JSON.parse(JSON.stringify(r)));
  assert.equal(copy.score("good"), 0.5);
});
