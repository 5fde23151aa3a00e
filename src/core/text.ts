/**
 * Text that crosses a trust boundary: versions as the semver 2.0 grammar writes them, control
 * and bidi characters refused at publish, and escaped whenever untrusted text reaches a terminal
 * or a log line. Pure functions, no I/O.
 * @module
 */
import { closest, distance } from "fastest-levenshtein";

/** The semver 2.0.0 grammar (semver.org), build metadata included */
const SEMVER_2 =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** Longest version string accepted anywhere */
export const MAX_VERSION_LENGTH = 64;

/**
 * True when `version` is a full semver 2.0 version (`1.2.3`, `1.0.0-rc.1`, `1.0.0+build.5`).
 * The grammar admits only `[0-9A-Za-z.+-]`, so a valid version is also a safe path segment.
 */
export function isValidVersion(version: unknown): boolean {
  return typeof version === "string" && version.length <= MAX_VERSION_LENGTH && SEMVER_2.test(version);
}

/** Reverse-DNS id: at least two dot-separated lowercase labels */
const ID_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/;
/** Longest package id */
export const MAX_ID_LENGTH = 128;

/** True when `id` is a valid reverse-DNS package id */
export function isValidPackageId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id);
}

/**
 * C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
 * (bidi embeddings, overrides and isolates, marks, zero-width characters, BOM).
 */
// deno-lint-ignore no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
// deno-lint-ignore no-control-regex
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/** True when `text` holds a control, bidi or invisible formatting character */
export function hasUnsafeChars(text: string): boolean {
  return UNSAFE_CHAR.test(text);
}

/**
 * Make untrusted text safe for a terminal: every control, bidi or invisible formatting
 * character becomes a visible `\u{..}` escape, so ESC sequences, carriage returns and
 * right-to-left overrides cannot rewrite what the user sees.
 */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE_CHARS, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * " (did you mean "x"?)" when `key` is a likely misspelling of one of `known` ("licence" ->
 * "license"), else ""
 */
export function didYouMean(key: string, known: readonly string[]): string {
  if (known.length === 0) return "";
  const near = closest(key, [...known]);
  return distance(key, near) <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${near}"?)` : "";
}
