/**
 * A P2P worker whose code starts loading before the command knows it needs a node. Loading it (a
 * second isolate compiling libp2p) is the longest step of a short-lived node's start, so when a
 * command will most likely start one, the CLI starts the worker beside loading its own commands
 * and the node's client takes it over instead of starting another. The worker touches no network
 * until it is asked to start a node: loading it ahead tells nobody anything (design §9.3).
 *
 * The CLI's parsing and its commands are separate bundles in the single-file build, each with its
 * own copy of this module: the worker waits under a global symbol.
 * @module
 */

const KEY = Symbol.for("ggen.workerAhead");

interface WorkerAhead {
  url: string;
  worker: Worker;
  startedAt: number;
  failed: boolean;
}

function slot(): Record<symbol, WorkerAhead | undefined> {
  return globalThis as unknown as Record<symbol, WorkerAhead | undefined>;
}

/** Start loading the worker module at `url` ahead of its use; one already loading is kept */
export function startWorkerAhead(url: string): void {
  if (slot()[KEY]) return;
  const worker = new Worker(url, { type: "module" });
  const ahead: WorkerAhead = { url, worker, startedAt: performance.now(), failed: false };
  // Until it is taken over, a failed load is remembered: the client then starts a worker of its
  // own, whose failure it reports the usual way
  worker.onerror = (evt) => {
    evt.preventDefault();
    ahead.failed = true;
  };
  slot()[KEY] = ahead;
}

/**
 * The worker loading ahead from `url`, handed to the caller (who sets its handlers), with how
 * long ago it started; undefined when there is none, or it failed or loads another module
 * (then it is ended)
 */
export function takeWorkerAhead(url: string): { worker: Worker; aheadMs: number } | undefined {
  const ahead = slot()[KEY];
  if (!ahead) return undefined;
  delete slot()[KEY];
  if (ahead.failed || ahead.url !== url) {
    ahead.worker.terminate();
    return undefined;
  }
  ahead.worker.onerror = null;
  return { worker: ahead.worker, aheadMs: performance.now() - ahead.startedAt };
}

/** End a worker that loaded ahead and was not taken over (the command needed no node) */
export function dropWorkerAhead(): void {
  const ahead = slot()[KEY];
  delete slot()[KEY];
  ahead?.worker.terminate();
}
