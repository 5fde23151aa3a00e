import assert from "node:assert/strict";
import { createReachability, UNREACHABLE_MS } from "./reachability.ts";

Deno.test("reachability: a failed dial demotes a peer until it connects or the time passes; the record is bounded", () => {
  let t = 0;
  const r = createReachability({ now: () => t });
  assert.equal(r.isUnreachable("a"), false);
  r.failed("a");
  r.failed("b");
  assert.equal(r.isUnreachable("a"), true);
  r.reached("a");
  assert.equal(r.isUnreachable("a"), false, "a peer that connected again is no longer demoted");
  t = UNREACHABLE_MS;
  assert.equal(r.isUnreachable("b"), false, "a failure older than the window is forgotten");
  for (let i = 0; i < 5000; i++) r.failed(`p${i}`);
  assert.equal(r.isUnreachable("p0"), false, "the oldest entries make room");
  assert.equal(r.isUnreachable("p4999"), true);
});
