/**
 * The part of core the CLI's start-up path loads: errors, constants, text checks, the logger,
 * bytes and the single file's embedded parts. None of it imports more than the runtime's
 * modules and one small library, so `ggen --version` or `ggen config get` does not load semver
 * or node:crypto (about 25 ms of every start, measured); core/mod.ts re-exports all of it.
 * @module
 */
export * from "./errors.ts";
export * from "./constants.ts";
export * from "./text.ts";
export * from "./logger.ts";
export * from "./bytes.ts";
export * from "./embedded.ts";
export * from "./worker_ahead.ts";
export { backendKey } from "./registry.ts";
