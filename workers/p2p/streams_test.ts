import assert from "node:assert/strict";
import { StallError } from "../../src/core/mod.ts";
import { askQuorum, withStallTimer } from "./streams.ts";

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

Deno.test("askQuorum: all answers when all are quick; a straggler is cut off after the quorum's window", async () => {
  const delays = [5, 10, 15, 60_000];
  const ask = (ms: number, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve(`after ${ms}`), ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  const signal = new AbortController().signal;
  assert.deepEqual(
    await askQuorum(delays.slice(0, 3), ask, { signal, quorum: 2, windowMs: 10_000, missing: "none" }),
    ["after 5", "after 10", "after 15"],
  );
  // Half answered, then the window: the silent peer is aborted and missing, not waited for
  assert.deepEqual(
    await askQuorum(delays, ask, { signal, quorum: 2, windowMs: 30, missing: "none" }),
    ["after 5", "after 10", "after 15", "none"],
  );
  // A peer that fails counts as answered and as missing
  assert.deepEqual(
    await askQuorum([1, 2], (n) => n === 1 ? Promise.reject(new Error("refused")) : Promise.resolve("ok"), {
      signal,
      quorum: 2,
      windowMs: 10_000,
      missing: "none",
    }),
    ["none", "ok"],
  );
});

Deno.test("askQuorum: only the answers that count reach the quorum", async () => {
  const signal = new AbortController().signal;
  // Two quick "not held" answers do not end the wait; the slower document does, then the window
  const answers = await askQuorum(
    [1, 2, 40, 60_000],
    (ms, s) =>
      new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms < 10 ? undefined : `doc after ${ms}`), ms);
        s.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(s.reason);
        }, { once: true });
      }),
    { signal, quorum: 1, windowMs: 30, missing: undefined, counts: (a) => a !== undefined },
  );
  assert.deepEqual(answers, [undefined, undefined, "doc after 40", undefined]);
});
