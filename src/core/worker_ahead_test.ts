import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { dropWorkerAhead, startWorkerAhead, takeWorkerAhead } from "./worker_ahead.ts";

/** A worker that doubles what it is sent */
async function doubler(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, "self.onmessage = (e) => self.postMessage(e.data * 2);\n");
  return pathToFileURL(path).href;
}

function ask(worker: Worker, n: number): Promise<number> {
  return new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage(n);
  });
}

Deno.test("a worker loaded ahead is taken over once, by the module it loads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const url = await doubler(dir, "a.js");
    const other = await doubler(dir, "b.js");

    startWorkerAhead(url);
    // A second start keeps the worker already loading
    startWorkerAhead(other);
    const ahead = takeWorkerAhead(url);
    assert.ok(ahead, "taken over");
    assert.ok(ahead.aheadMs >= 0);
    // It was loading before it was taken: messages sent now reach it
    assert.equal(await ask(ahead.worker, 21), 42);
    ahead.worker.terminate();
    assert.equal(takeWorkerAhead(url), undefined, "taken once");

    // Another module: not handed out, and ended
    startWorkerAhead(other);
    assert.equal(takeWorkerAhead(url), undefined);
    assert.equal(takeWorkerAhead(other), undefined, "ended when refused");

    // A command that needed no node ends it
    startWorkerAhead(url);
    dropWorkerAhead();
    assert.equal(takeWorkerAhead(url), undefined);
  } finally {
    dropWorkerAhead();
    await Deno.remove(dir, { recursive: true });
  }
});
