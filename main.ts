/**
 * Entry point of `ggen`: runs one command, maps errors to exit codes (1 failure, 2 usage or
 * configuration, 130 SIGINT) and exits explicitly, so no libp2p handle keeps the process alive.
 * With `--json`, an error is one JSON object on stderr: `{"error": {"name", "message", "exit_code"}}`.
 * @module
 */
import { runCli } from "./src/cli/mod.ts";
import { escapeTerminal } from "./src/core/base.ts";

/**
 * Errors that are the user's to fix (exit code 2), by class name: the single-file build loads the
 * registry's server side as a part of its own, with its own copies of the error classes
 */
const USER_ERRORS = new Set(["UsageError", "ConfigError"]);

function describe(err: unknown, verbose: boolean): string {
  if (!(err instanceof Error)) return `error: ${String(err)}`;
  let text = `error: ${err.message}`;
  if (verbose) {
    text += `\n${err.stack ?? ""}`;
    let cause = err.cause;
    for (let depth = 0; cause && depth < 8; depth++) {
      text += `\nCaused by: ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return text;
}

/** A line on stderr, unless stderr is gone (the exit code still tells) */
function printError(text: string): void {
  try {
    console.error(text);
  } catch {
    // stderr closed
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) Deno.exit(130);
    interrupted = true;
    // Stopping first: a notice that cannot be written (stderr closed) must not keep the stop
    // from happening
    controller.abort(new DOMException("Interrupted", "AbortError"));
    // Installs, publishes and lock writes are atomic: stopping now leaves the state of before
    printError(
      "Interrupted: stopping (nothing half-done is kept; run the command again to finish; Ctrl-C again to quit now)",
    );
  };
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  const verbose = Deno.args.includes("--verbose") || Deno.args.includes("-v");
  let code: number;
  try {
    code = await runCli(Deno.args, controller.signal);
  } catch (err) {
    if (interrupted && !(err instanceof Error && err.name !== "AbortError")) code = 130;
    else {
      // A bad argument, flag or setting is the user's to fix: 2, as the README says
      code = err instanceof Error && USER_ERRORS.has(err.name) ? 2 : 1;
      if (Deno.args.includes("--json")) {
        // Scripts get the error's class (stable) and message; JSON escapes what a terminal must not see
        const name = err instanceof Error ? err.name : "Error";
        const message = err instanceof Error ? err.message : String(err);
        printError(JSON.stringify({ error: { name, message, exit_code: code } }));
      } else {
        // Error messages quote registry and peer answers: escape them for the terminal
        printError(describe(err, verbose).split("\n").map(escapeTerminal).join("\n"));
      }
    }
  }
  Deno.exit(code);
}
