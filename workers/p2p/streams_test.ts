import assert from "node:assert/strict";
import { StallError } from "../../src/core/mod.ts";
import { withStallTimer } from "./streams.ts";

Deno.test("withStallTimer: a stall is a StallError (an UnavailableError), an abort is the abort", async () => {
  const never = new Promise<never>(() => {});
  await assert.rejects(withStallTimer(never, 20, new AbortController().signal, "peer x"), (err) => {
    assert.ok(err instanceof StallError);
    assert.equal((err as Error).name, "StallError");
    return true;
  });
  const controller = new AbortController();
  const pending = withStallTimer(never, 10_000, controller.signal, "peer x");
  controller.abort(new DOMException("Cancelled", "AbortError"));
  await assert.rejects(pending, (err) => (err as Error).name === "AbortError");
  assert.equal(await withStallTimer(Promise.resolve(7), 1000, new AbortController().signal, "x"), 7);
});
