/**
 * The usage error of the CLI (exit code 2).
 * @module
 */

/** Thrown for usage errors; exit code 2 */
export class UsageError extends Error {
  /** Human-readable name */
  override name = "UsageError";
}
