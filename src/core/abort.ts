/**
 * Waiting on an AbortSignal. An "abort" listener added after the signal fired never runs, so a
 * wait that starts late (a SIGINT during a daemon's start-up) would never end: these check first.
 * @module
 */

/** Resolves once `signal` is aborted, at once when it already is */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
