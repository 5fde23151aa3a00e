/**
 * Shape checks for package documents that come from outside the process: central registry
 * answers, peers' records and catalogs, the daemon, the lockfile. Each parser takes `unknown`,
 * checks every field a caller will use (ids, versions, hashes, sizes, ranges, lengths) and
 * returns a typed copy, or throws a {@link ValidationError} naming the field. Nothing that
 * fails here ever reaches a path, a resolver or a terminal.
 * @module
 */
import * as semver from "semver";
import type { IndexRelease, RegistryKeyResponse, SearchResponse } from "./api.ts";
import { isSha256Hex } from "./digest.ts";
import { type Envelope, parseEnvelope } from "./envelope.ts";
import { ValidationError } from "./errors.ts";
import { isValidPackageId } from "./text.ts";
import { idOfName } from "./package_toml.ts";
import type { OwnerKey, PackageInfo, PackageVersion, SearchHit } from "./package.ts";
import { isValidVersion } from "./text.ts";

/** Longest free text (name, description) accepted from the network */
const MAX_TEXT = 4096;
/** Most versions, hits, owners, tags or dependencies in one document */
const MAX_ITEMS = 10_000;

function fail(where: string, reason: string): never {
  throw new ValidationError(`${where}: ${reason}`);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, "expected an object");
  return value as Record<string, unknown>;
}

function string(value: unknown, where: string, max = MAX_TEXT): string {
  if (typeof value !== "string") fail(where, "expected a string");
  if (value.length > max) fail(where, `longer than ${max} characters`);
  return value;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, "expected an array");
  if (value.length > MAX_ITEMS) fail(where, `more than ${MAX_ITEMS} entries`);
  return value;
}

function strings(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  return array(value, where).map((s, i) => string(s, `${where}[${i}]`, 256));
}

/**
 * Check a package id from outside.
 * @throws {ValidationError} naming `where`
 */
export function checkPackageId(value: unknown, where: string): string {
  if (typeof value !== "string" || !isValidPackageId(value)) {
    fail(where, `${JSON.stringify(String(value).slice(0, 80))} is not a reverse-DNS package id`);
  }
  return value;
}

/**
 * Check a version from outside (semver 2.0, build metadata allowed).
 * @throws {ValidationError} naming `where`
 */
export function checkVersion(value: unknown, where: string): string {
  if (!isValidVersion(value)) fail(where, `${JSON.stringify(String(value).slice(0, 80))} is not a semver version`);
  return value as string;
}

/**
 * Check a dependency table: package id → semver range.
 * @throws {ValidationError} naming the entry
 */
export function checkDependencies(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  const table = object(value, where);
  const out: Record<string, string> = {};
  const entries = Object.entries(table);
  if (entries.length > 1024) fail(where, "more than 1024 dependencies");
  for (const [id, range] of entries) {
    checkPackageId(id, `${where} key`);
    if (typeof range !== "string" || range.length > 256 || semver.validRange(range) === null) {
      fail(`${where}.${id}`, "is not a semver range");
    }
    out[id] = range;
  }
  return out;
}

function checkSize(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(where, "expected a size in bytes");
  return value;
}

function checkSha256(value: unknown, where: string): string {
  if (typeof value !== "string" || !isSha256Hex(value)) fail(where, "expected 64 lowercase hex digits");
  return value;
}

function optionalEnvelope(value: unknown, where: string): Envelope | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return parseEnvelope(value);
  } catch (err) {
    throw new ValidationError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Check one version document; `expectedId` refuses a version of another package.
 * @throws {ValidationError}
 */
export function parsePackageVersion(value: unknown, where: string, expectedId?: string): PackageVersion {
  const v = object(value, where);
  const id = checkPackageId(v.id, `${where}.id`);
  if (expectedId !== undefined && id !== expectedId) fail(`${where}.id`, `"${id}" is not "${expectedId}"`);
  const signature = optionalEnvelope(v.signature, `${where}.signature`);
  const publisherKey = v.publisher_key === undefined
    ? undefined
    : string(v.publisher_key, `${where}.publisher_key`, 64);
  return {
    id,
    version: checkVersion(v.version, `${where}.version`),
    name: string(v.name ?? "", `${where}.name`),
    description: string(v.description ?? "", `${where}.description`),
    tags: strings(v.tags, `${where}.tags`),
    keywords: strings(v.keywords, `${where}.keywords`),
    sha256: checkSha256(v.sha256, `${where}.sha256`),
    size: checkSize(v.size, `${where}.size`),
    dependencies: checkDependencies(v.dependencies, `${where}.dependencies`),
    yanked: v.yanked === true,
    published_at: string(v.published_at ?? "", `${where}.published_at`, 64),
    ...(signature ? { signature } : {}),
    ...(publisherKey !== undefined ? { publisher_key: publisherKey } : {}),
  };
}

function parseOwnerKey(value: unknown, where: string): OwnerKey {
  const o = object(value, where);
  return { keyid: string(o.keyid, `${where}.keyid`, 128), public_key: string(o.public_key, `${where}.public_key`, 64) };
}

/**
 * Check a package document; it must be for `expectedId`, and so must each of its versions.
 * @throws {ValidationError}
 */
export function parsePackageInfo(value: unknown, expectedId: string): PackageInfo {
  const where = `metadata of "${expectedId}"`;
  const info = object(value, where);
  const id = checkPackageId(info.id, `${where}: id`);
  if (id !== expectedId) fail(where, `the document is for "${id}"`);
  const versions = array(info.versions, `${where}: versions`).map((v, i) =>
    parsePackageVersion(v, `${where}: versions[${i}]`, expectedId)
  );
  const owners = info.owners === undefined
    ? undefined
    : array(info.owners, `${where}: owners`).map((o, i) => parseOwnerKey(o, `${where}: owners[${i}]`));
  const ownerLog = info.owner_log === undefined
    ? undefined
    : array(info.owner_log, `${where}: owner_log`).map((e, i) => optionalEnvelope(e, `${where}: owner_log[${i}]`)!);
  const metadataSignature = optionalEnvelope(info.metadata_signature, `${where}: metadata_signature`);
  // `source` is never taken from the wire: the receiving client sets it
  return {
    id,
    name: string(info.name ?? "", `${where}: name`),
    description: string(info.description ?? "", `${where}: description`),
    versions,
    ...(owners ? { owners } : {}),
    ...(ownerLog ? { owner_log: ownerLog } : {}),
    ...(metadataSignature ? { metadata_signature: metadataSignature } : {}),
  };
}

/**
 * Check a search answer.
 * @throws {ValidationError}
 */
export function parseSearchResponse(value: unknown, source = "central"): SearchResponse {
  const body = object(value, "search results");
  const hits: SearchHit[] = array(body.hits, "search results: hits").map((h, i) => {
    const where = `search results: hits[${i}]`;
    const hit = object(h, where);
    return {
      id: checkPackageId(hit.id, `${where}.id`),
      name: string(hit.name ?? "", `${where}.name`),
      version: checkVersion(hit.version, `${where}.version`),
      description: string(hit.description ?? "", `${where}.description`),
      tags: strings(hit.tags, `${where}.tags`),
      source,
    };
  });
  const total = typeof body.total === "number" && Number.isSafeInteger(body.total) ? body.total : hits.length;
  return { total, hits };
}

/**
 * Check the registry key answer.
 * @throws {ValidationError}
 */
export function parseRegistryKey(value: unknown): RegistryKeyResponse {
  const body = object(value, "registry key");
  return {
    keyid: string(body.keyid, "registry key: keyid", 128),
    public_key: string(body.public_key, "registry key", 64),
  };
}

/**
 * Check an owners answer.
 * @throws {ValidationError}
 */
export function parseOwnersResponse(value: unknown): { owners: OwnerKey[]; owner_log: Envelope[] } {
  const body = object(value, "owners");
  return {
    owners: array(body.owners, "owners").map((o, i) => parseOwnerKey(o, `owners[${i}]`)),
    owner_log: body.owner_log === undefined
      ? []
      : array(body.owner_log, "owner_log").map((e, i) => optionalEnvelope(e, `owner_log[${i}]`)!),
  };
}

/** A package of a static index as a client uses it */
export interface IndexedPackage {
  /** Reverse-DNS id: the entry's `id`, or its ggen `name` under the configured namespace */
  id: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** The version the index shows */
  version: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** Signed versions with their tarball URLs, oldest first; empty for an unsigned entry (ggen's own index) */
  releases: IndexRelease[];
}

/** Most packages read from one index */
export const MAX_INDEX_PACKAGES = 200_000;

/**
 * Check a static `index.json` (a ggen registry's, or ggen's own marketplace index). An entry that
 * does not parse is left out and named in `refused`, so one bad entry does not hide the others.
 * @throws {ValidationError} when the document itself is not an index
 */
export function parseIndexJson(
  value: unknown,
  namespace: string,
): { packages: IndexedPackage[]; refused: string[] } {
  const body = object(value, "index.json");
  if (!Array.isArray(body.packages)) fail("index.json: packages", "expected an array");
  if (body.packages.length > MAX_INDEX_PACKAGES) {
    fail("index.json: packages", `more than ${MAX_INDEX_PACKAGES} entries`);
  }
  const packages: IndexedPackage[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  body.packages.forEach((value: unknown, i: number) => {
    const where = `index.json: packages[${i}]`;
    try {
      const e = object(value, where);
      const name = string(e.name, `${where}.name`, 256);
      const id = e.id === undefined ? idOfName(name, namespace) : checkPackageId(e.id, `${where}.id`);
      if (seen.has(id)) fail(where, `"${id}" is listed twice`);
      const releases = e.releases === undefined ? [] : array(e.releases, `${where}.releases`).map((r, j) => ({
        ...parsePackageVersion(r, `${where}.releases[${j}]`, id),
        download_url: string(object(r, where).download_url, `${where}.releases[${j}].download_url`, 2048),
      }));
      seen.add(id);
      packages.push({
        id,
        name,
        description: string(e.description ?? "", `${where}.description`),
        version: checkVersion(e.version, `${where}.version`),
        tags: strings(e.tags, `${where}.tags`),
        keywords: strings(e.keywords, `${where}.keywords`),
        releases,
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      refused.push(err.message);
    }
  });
  return { packages, refused };
}
