/**
 * The `ggen` CLI.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./mod.ts";
 * const code = await runCli(["search", "rust"], new AbortController().signal);
 * ```
 * @module
 */
export { runCli, UsageError } from "./program.ts";
