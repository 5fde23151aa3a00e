/**
 * The `ggen` CLI.
 *
 * @example
 * ```ts
 * import { runCli } from "./mod.ts";
 * const code: number = await runCli(["--help"], new AbortController().signal);
 * ```
 * @module
 */
export { runCli, UsageError } from "./program.ts";
