/**
 * The `ggen.toml` manifest: parsing and validation. Every error names the field and the reason.
 * @module
 */
import { parse as parseToml } from "smol-toml";
import * as semver from "semver";
import { ValidationError } from "./errors.ts";
import { didYouMean, hasUnsafeChars, isValidPackageId, isValidVersion, MAX_ID_LENGTH } from "./text.ts";

/** A validated package manifest */
export interface Manifest {
  /** Reverse-DNS package id */
  id: string;
  /** Human-readable name */
  name: string;
  /** Semver 2.0 version */
  version: string;
  /** One-line description */
  description: string;
  /** Authors, "Name <email>" */
  authors: string[];
  /** SPDX license expression */
  license: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** Marketplace category */
  category: string;
  /** Path of the README inside the package */
  readme: string;
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** gitignore-style patterns of the files to pack; empty packs everything not ignored */
  include: string[];
}

const MAX_TEXT_LENGTH = 1024;
const MAX_LIST_LENGTH = 32;
const TAG_PATTERN = /^[a-z0-9][a-z0-9+#.-]{0,39}$/;

/** Throw unless `id` is a valid package id */
export function assertPackageId(id: string, field = "package.id"): void {
  if (!isValidPackageId(id)) {
    throw new ValidationError(
      `Invalid manifest field "${field}": "${id}" is not a reverse-DNS id such as "io.ggen.rust.cli"`,
    );
  }
}

function fail(field: string, reason: string): never {
  throw new ValidationError(`Invalid manifest field "${field}": ${reason}`);
}

function text(
  table: Record<string, unknown>,
  key: string,
  opts: { required?: boolean; max?: number } = {},
): string {
  const value = table[key];
  if (value === undefined) {
    if (opts.required) fail(`package.${key}`, "is required");
    return "";
  }
  if (typeof value !== "string") fail(`package.${key}`, "must be a string");
  const max = opts.max ?? MAX_TEXT_LENGTH;
  if (value.length > max) fail(`package.${key}`, `is longer than ${max} characters`);
  if (opts.required && value.trim() === "") fail(`package.${key}`, "must not be empty");
  // Names and descriptions reach terminals and web pages: no escapes, no bidi tricks
  if (hasUnsafeChars(value)) fail(`package.${key}`, "must not contain control, bidi or invisible characters");
  return value;
}

function list(
  table: Record<string, unknown>,
  key: string,
  pattern?: RegExp,
): string[] {
  const value = table[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(`package.${key}`, "must be an array of strings");
  if (value.length > MAX_LIST_LENGTH) {
    fail(`package.${key}`, `has more than ${MAX_LIST_LENGTH} entries`);
  }
  return value.map((v, i) => {
    if (typeof v !== "string" || v.trim() === "") {
      fail(`package.${key}[${i}]`, "must be a non-empty string");
    }
    if (v.length > 128) fail(`package.${key}[${i}]`, "is longer than 128 characters");
    if (hasUnsafeChars(v)) fail(`package.${key}[${i}]`, "must not contain control, bidi or invisible characters");
    if (pattern && !pattern.test(v)) {
      fail(`package.${key}[${i}]`, `"${v}" must be lowercase letters, digits, '-', '.', '+' or '#'`);
    }
    return v;
  });
}

/** Validate an already-parsed manifest object */
export function validateManifest(data: unknown): Manifest {
  if (typeof data !== "object" || data === null) fail("package", "is missing");
  const root = data as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (key !== "package" && key !== "dependencies") fail(key, "is not a known section");
  }
  const pkg = root.package;
  if (typeof pkg !== "object" || pkg === null || Array.isArray(pkg)) {
    fail("package", "section [package] is required");
  }
  const table = pkg as Record<string, unknown>;
  const known = [
    "id",
    "name",
    "version",
    "description",
    "authors",
    "license",
    "tags",
    "keywords",
    "category",
    "readme",
    "include",
  ];
  for (const key of Object.keys(table)) {
    if (!known.includes(key)) {
      // "licence" -> "license": a misspelt field names the one it probably means
      fail(`package.${key}`, `is not a known field${didYouMean(key, known)}; known fields: ${known.join(", ")}`);
    }
  }
  const id = text(table, "id", { required: true, max: MAX_ID_LENGTH });
  assertPackageId(id);
  const version = text(table, "version", { required: true, max: 64 });
  if (!isValidVersion(version)) {
    fail("package.version", `"${version}" is not a semver 2.0 version such as "1.2.3" or "1.0.0+build.5"`);
  }
  const deps: Record<string, string> = {};
  const rawDeps = root.dependencies ?? {};
  if (typeof rawDeps !== "object" || rawDeps === null || Array.isArray(rawDeps)) {
    fail("dependencies", "must be a table of package id = semver range");
  }
  for (const [depId, range] of Object.entries(rawDeps as Record<string, unknown>)) {
    if (!isValidPackageId(depId)) fail(`dependencies.${depId}`, "is not a reverse-DNS package id");
    if (depId === id) fail(`dependencies.${depId}`, "a package cannot depend on itself");
    if (typeof range !== "string" || range.length > 256 || semver.validRange(range) === null) {
      fail(`dependencies.${depId}`, `"${String(range)}" is not a semver range`);
    }
    deps[depId] = range;
  }
  const readme = text(table, "readme", { max: 255 });
  if (readme && (readme.startsWith("/") || readme.split(/[\\/]/).includes(".."))) {
    fail("package.readme", "must be a relative path inside the package");
  }
  return {
    id,
    name: text(table, "name", { required: true, max: 128 }),
    version,
    description: text(table, "description", { required: true }),
    authors: list(table, "authors"),
    license: text(table, "license", { max: 128 }),
    tags: list(table, "tags", TAG_PATTERN),
    keywords: list(table, "keywords", TAG_PATTERN),
    category: text(table, "category", { max: 64 }),
    readme,
    dependencies: deps,
    include: list(table, "include"),
  };
}

/**
 * Parse and validate the text of a `ggen.toml`.
 * @throws {ValidationError} naming the field and the reason
 */
export function parseManifest(source: string): Manifest {
  let data: unknown;
  try {
    data = parseToml(source);
  } catch (err) {
    throw new ValidationError(`Cannot parse ggen.toml: ${(err as Error).message}`);
  }
  return validateManifest(data);
}
