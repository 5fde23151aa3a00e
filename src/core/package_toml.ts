/**
 * ggen's own marketplace packages as they are: a directory with a `package.toml` (`[package]`
 * name, full_name, version, description, category, author, repository, license, dependencies as
 * an array, features, tags, keywords; and tables such as `[install]`, `[files]`, `[variables]`,
 * `[examples]`, `[docs]`, `[marketplace]`) packs and publishes without edits. The mapping to the
 * package model, deterministic and documented in the README:
 *
 * - id: `name` when it already is a reverse-DNS id, else `<namespace>.<slug of name>` (the
 *   namespace is `io.ggen` unless configured); the slug lower-cases and turns every run of other
 *   characters into one `-`
 * - name: `name`; `full_name` joins the keywords, so both find the package
 * - authors: `author` (or `authors`); tags and keywords lower-cased with spaces as `-`, others dropped
 * - dependencies: each `NAME` or `NAME@RANGE` of the array, NAME mapped like the id, `*` by default
 * - the other tables stay in the package's `package.toml` (it is packed as it is)
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { ValidationError } from "./errors.ts";
import { type Manifest, validateManifest } from "./manifest.ts";
import { isValidPackageId } from "./text.ts";
import { DEFAULT_PACKAGE_NAMESPACE } from "./constants.ts";

/** The file name of ggen's own package manifests */
export const PACKAGE_TOML_NAME = "package.toml";

/** `name` as the last label of an id: lower case, every run of other characters one `-` */
export function slugOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** The id a package.toml `name` maps to under `namespace` */
export function idOfName(name: string, namespace = DEFAULT_PACKAGE_NAMESPACE): string {
  if (isValidPackageId(name)) return name;
  const id = `${namespace}.${slugOf(name)}`;
  if (!isValidPackageId(id)) {
    throw new ValidationError(`package.toml: name "${name}" gives no valid id under "${namespace}" (got "${id}")`);
  }
  return id;
}

const TAG = /^[a-z0-9][a-z0-9+#.-]{0,39}$/;

function words(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return [
    ...new Set(
      value.filter((v): v is string => typeof v === "string").map((v) => v.trim().toLowerCase().replace(/\s+/g, "-"))
        .filter((v) => TAG.test(v)),
    ),
  ].slice(0, 32);
}

/**
 * The manifest of a `package.toml` (its text), under `namespace`.
 * @throws {ValidationError} naming the field when the file cannot be mapped
 */
export function manifestFromPackageToml(source: string, namespace = DEFAULT_PACKAGE_NAMESPACE): Manifest {
  let data: Record<string, unknown>;
  try {
    data = parseToml(source) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(`Cannot parse package.toml: ${(err as Error).message}`);
  }
  const pkg = data.package as Record<string, unknown> | undefined;
  if (typeof pkg !== "object" || pkg === null || Array.isArray(pkg)) {
    throw new ValidationError("package.toml: section [package] is required");
  }
  const str = (key: string) => typeof pkg[key] === "string" ? (pkg[key] as string).trim() : "";
  const name = str("name");
  if (!name) throw new ValidationError("package.toml: package.name is required");
  const id = idOfName(name, namespace);
  const authors = Array.isArray(pkg.authors)
    ? pkg.authors.filter((a): a is string => typeof a === "string")
    : str("author")
    ? [str("author")]
    : [];
  const dependencies: Record<string, string> = {};
  const rawDeps = pkg.dependencies ?? data.dependencies ?? [];
  if (Array.isArray(rawDeps)) {
    for (const [i, dep] of rawDeps.entries()) {
      if (typeof dep !== "string") throw new ValidationError(`package.toml: dependencies[${i}] must be a string`);
      const at = dep.indexOf("@", 1);
      dependencies[idOfName(at < 0 ? dep.trim() : dep.slice(0, at).trim(), namespace)] = at < 0
        ? "*"
        : dep.slice(at + 1).trim();
    }
  } else if (typeof rawDeps === "object" && rawDeps !== null) {
    for (const [dep, range] of Object.entries(rawDeps)) dependencies[idOfName(dep, namespace)] = String(range);
  }
  const fullName = str("full_name");
  const keywords = words([...(Array.isArray(pkg.keywords) ? pkg.keywords : []), ...(fullName ? [fullName] : [])]);
  // The mapped manifest goes through the same validation as a ggen.toml
  return validateManifest({
    package: {
      id,
      name,
      version: str("version"),
      description: str("description") || name,
      authors,
      ...(str("license") ? { license: str("license") } : {}),
      tags: words(pkg.tags),
      keywords,
      ...(str("category") ? { category: str("category") } : {}),
    },
    dependencies,
  });
}

/**
 * The tables of a package.toml beyond what ggen maps (`[install]`, `[files]`, `[variables]`,
 * `[examples]`, `[docs]`, `[marketplace]`, …): kept in the package and shown by `ggen info`
 */
export function extraTablesOf(source: string): Record<string, unknown> {
  let data: Record<string, unknown>;
  try {
    data = parseToml(source) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(`package.toml: ${(err as Error).message}`, { cause: err });
  }
  return Object.fromEntries(Object.entries(data).filter(([k]) => k !== "package" && k !== "dependencies"));
}
