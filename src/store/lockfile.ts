/**
 * `ggen.lock`: what a project requires and exactly what got installed. TOML, written atomically.
 * @module
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { join } from "node:path";
import {
  checkDependencies,
  checkPackageId,
  checkVersion,
  fingerprint,
  fromBase64,
  isSha256Hex,
  LOCKFILE_NAME,
  ValidationError,
} from "../core/mod.ts";
import { writeFileAtomic } from "./atomic.ts";

/** One locked package */
export interface LockedPackage {
  /** Reverse-DNS package id */
  id: string;
  /** Semver 2.0 version */
  version: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Size in bytes */
  size: number;
  /** "central", "p2p:<peer>", "cache" */
  source: string;
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** Fingerprint of the publisher key that signed this version */
  publisher_key?: string;
}

/** The registry whose signed documents the lock was resolved from */
export interface LockedRegistry {
  /** base64 raw Ed25519 public key: a fresh clone verifies re-shared registry documents with it */
  public_key: string;
  /** Its fingerprint `SHA256:<base64>`, for people reading a diff */
  fingerprint: string;
}

/** The whole lockfile */
export interface Lockfile {
  /** Top-level requirements: id → range */
  requires: Record<string, string>;
  /** Every locked package */
  packages: LockedPackage[];
  /** The registry's key, once one answered */
  registry?: LockedRegistry;
}

/** Read `ggen.lock` from a project; an absent file is an empty lock */
export async function readLockfile(projectDir: string): Promise<Lockfile> {
  const path = join(projectDir, LOCKFILE_NAME);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { requires: {}, packages: [] };
    throw err;
  }
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(`Cannot read "${path}": ${(err as Error).message}`);
  }
  // A committed lock is input like any other: a traversal id in it must not reach a path
  let requires: Record<string, string>;
  let packages: LockedPackage[];
  try {
    requires = checkDependencies(data.requires ?? {}, "requires");
    const entries = data.package ?? [];
    if (!Array.isArray(entries)) throw new ValidationError("[[package]] must be an array of tables");
    packages = (entries as Record<string, unknown>[]).map((p, i) => {
      if (typeof p !== "object" || p === null) throw new ValidationError(`package entry ${i} is not a table`);
      if (typeof p.sha256 !== "string" || !isSha256Hex(p.sha256)) {
        throw new ValidationError(`package entry ${i}: "sha256" must be 64 lowercase hex digits`);
      }
      const size = Number(p.size ?? 0);
      if (!Number.isSafeInteger(size) || size < 0) throw new ValidationError(`package entry ${i}: bad "size"`);
      return {
        id: checkPackageId(p.id, `package entry ${i}: id`),
        version: checkVersion(p.version, `package entry ${i}: version`),
        sha256: p.sha256,
        size,
        source: String(p.source ?? ""),
        dependencies: checkDependencies(p.dependencies ?? {}, `package entry ${i}: dependencies`),
        ...(typeof p.publisher_key === "string" ? { publisher_key: p.publisher_key } : {}),
      };
    });
  } catch (err) {
    throw new ValidationError(`Cannot read "${path}": ${(err as Error).message}`, { cause: err });
  }
  let registry: LockedRegistry | undefined;
  if (data.registry !== undefined) {
    const r = data.registry as Record<string, unknown>;
    let computed = "";
    try {
      computed = fingerprint(fromBase64(String(r.public_key ?? "")));
    } catch {
      // refused below
    }
    if (!computed || computed !== r.fingerprint || fromBase64(String(r.public_key)).byteLength !== 32) {
      throw new ValidationError(
        `Cannot read "${path}": [registry] must hold the registry's public_key and its fingerprint, and they disagree`,
      );
    }
    registry = { public_key: String(r.public_key), fingerprint: computed };
  }
  return { requires, packages, ...(registry ? { registry } : {}) };
}

/** The lock's registry entry for a base64 raw public key */
export function lockedRegistry(publicKey: string): LockedRegistry {
  return { public_key: publicKey, fingerprint: fingerprint(fromBase64(publicKey)) };
}

/** Write `ggen.lock` atomically, sorted so diffs stay small */
export async function writeLockfile(projectDir: string, lock: Lockfile): Promise<void> {
  const packages = [...lock.packages].sort((a, b) => a.id.localeCompare(b.id));
  const requires = Object.fromEntries(Object.entries(lock.requires).sort(([a], [b]) => a.localeCompare(b)));
  const body = stringifyToml({
    version: 1,
    ...(lock.registry ? { registry: lock.registry } : {}),
    requires,
    package: packages,
  });
  await writeFileAtomic(join(projectDir, LOCKFILE_NAME), `# Generated by ggen. Do not edit.\n${body}\n`);
}
