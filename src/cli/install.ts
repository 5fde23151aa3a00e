/**
 * `ggen install`, `ggen update`, `ggen list`, `ggen remove`: resolve, download into the
 * verified cache (trying the next source when bytes are bad), install atomically, lock.
 * @module
 */
import * as semver from "semver";
import {
  type AbortOptions,
  ConflictError,
  IntegrityError,
  MAX_PROVIDERS_PER_KEY,
  NotFoundError,
  type PackageInfo,
  type PackageVersion,
  parsePackageSpec,
  type Registry,
  resolve,
  type TarballStream,
  UnavailableError,
} from "../core/mod.ts";
import { UsageError } from "./usage.ts";
import {
  openTrustStore,
  pinsFor,
  trustedPeerVersions,
  type TrustStore,
  verifyMetadata,
  verifyPublisher,
  verifyPublisherSignature,
} from "../trust/mod.ts";
import {
  type InstallAction,
  installIntoProject,
  type LockedPackage,
  lockedRegistry,
  type Lockfile,
  type PackageCache,
  projectRoot,
  readLockfile,
  removeFromProject,
  type StagedPackage,
} from "../store/mod.ts";
import { type Context, registryKeyOf } from "./context.ts";

/** Most sources tried for one package: every provider a lookup keeps, and central */
const MAX_DOWNLOAD_ATTEMPTS = MAX_PROVIDERS_PER_KEY + 1;

/**
 * Make sure the cache holds the verified tarball of `v`, downloading it if needed.
 * Bad bytes are reported to their source and the next source is tried.
 */
export async function ensureCached(
  ctx: Pick<Context, "logger" | "out" | "signal">,
  registry: Registry,
  cache: PackageCache,
  v: PackageVersion,
): Promise<{ path: string; source: string }> {
  const cached = await cache.get(v.sha256, { signal: ctx.signal });
  if (cached) {
    ctx.logger.debug(`${v.id}@${v.version}: cache hit`);
    return { path: cached, source: "cache" };
  }
  const exclude = new Set<string>();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < MAX_DOWNLOAD_ATTEMPTS; attempt++) {
    let tarball: TarballStream;
    try {
      tarball = await registry.open(v, { signal: ctx.signal, exclude });
    } catch (err) {
      // No other source is left (or none reachable): the bad bytes are the story the user needs to hear
      if (lastError && (err instanceof NotFoundError || err instanceof UnavailableError)) throw lastError;
      throw err;
    }
    const bar = ctx.out.progress(`Downloading ${v.id}@${v.version}`, v.size);
    try {
      const path = await cache.put(tarball.body, v.sha256, {
        signal: ctx.signal,
        size: v.size,
        onProgress: (n) => bar.update(n),
      });
      ctx.logger.debug(`${v.id}@${v.version}: fetched from ${tarball.source}`);
      tarball.accept?.();
      return { path, source: tarball.source };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      tarball.reject?.(err as Error);
      // Bad bytes, a broken stream or a stall: this source failed, the next one may not
      ctx.logger.warn(`${v.id}@${v.version}: rejected bytes from ${tarball.source}: ${(err as Error).message}`);
      exclude.add(tarball.source);
      lastError = err as Error;
    } finally {
      bar.done();
    }
  }
  throw lastError ?? new IntegrityError(`Cannot download "${v.id}@${v.version}": every source failed`);
}

/**
 * Package metadata from the configured registry, with the registry's signature checked against
 * the key {@link registryKeyOf} finds (`lock`: the project's ggen.lock, read once by the caller)
 */
export async function verifiedInfo(
  ctx: Context,
  registry: Registry,
  trust: TrustStore,
  id: string,
  o: AbortOptions & { lock?: Lockfile },
): Promise<PackageInfo> {
  const info = await registry.info(id, o);
  const configuredKey = registryKeyOf(ctx.config, trust, o.lock);
  await verifyMetadata(info, trust, {
    ...(configuredKey ? { configuredKey } : {}),
    announcedKey: async () => (await ctx.central().registryKey(o)).public_key,
    logger: ctx.logger,
  });
  // Verified central documents are kept, so later commands (and peers) have them with central down
  if (info.source === "central" && info.metadata_signature) {
    await ctx.metadata.put(info).catch((err) => ctx.logger.debug(`metadata cache: ${(err as Error).message}`));
  }
  return info;
}

/**
 * Refuse a locked version whose bytes or signer differ from what ggen.lock pins: a lock
 * changes only through `ggen update` or a new requirement, never silently.
 * @throws {IntegrityError} naming both digests and the command that moves the lock
 */
function checkAgainstLock(v: PackageVersion, lockedEntry: LockedPackage | undefined): void {
  if (!lockedEntry || lockedEntry.version !== v.version) return;
  if (lockedEntry.sha256 !== v.sha256) {
    throw new IntegrityError(
      `Refusing "${v.id}@${v.version}": ggen.lock pins sha256 ${lockedEntry.sha256}, but the registry now serves ` +
        `${v.sha256}. The published bytes changed (or a registry or peer is lying). If the change is intended, ` +
        `run: ggen update ${v.id}`,
    );
  }
}

/** Options of {@link installPackages} */
export interface InstallOptions {
  /** Ids to re-resolve ignoring the lock; "all" for a full update */
  unlock?: Set<string> | "all";
  /** Fail instead of changing ggen.lock (like `cargo build --locked`) */
  locked?: boolean;
}

/** True when the lock alone satisfies every requirement and every locked dependency */
function lockIsComplete(lock: Lockfile): boolean {
  const byId = new Map(lock.packages.map((p) => [p.id, p]));
  const fits = (id: string, range: string) => {
    const p = byId.get(id);
    return p !== undefined && semver.satisfies(p.version, range, { includePrerelease: true });
  };
  return Object.entries(lock.requires).every(([id, range]) => fits(id, range)) &&
    lock.packages.every((p) => Object.entries(p.dependencies).every(([id, range]) => fits(id, range)));
}

/**
 * `ggen install` with no arguments and a complete lock: install exactly what ggen.lock pins,
 * without asking any registry for metadata (like `npm ci`). The lock's sha256 is the trust
 * anchor: it was checked against the publisher's signature when the lock was written, and the
 * cache checks every byte against it, from central, from peers or from the cache. So this
 * works with central down (the bytes come from LAN providers) and the lock stays as it is.
 */
async function restoreFromLock(ctx: Context, lock: Lockfile, projectDir: string): Promise<InstalledPackage[]> {
  const registry = await ctx.registry();
  const staged: StagedPackage[] = [];
  const sources = new Map<string, string>();
  for (const p of lock.packages) {
    const v: PackageVersion = {
      id: p.id,
      version: p.version,
      name: p.id,
      description: "",
      tags: [],
      keywords: [],
      sha256: p.sha256,
      size: p.size,
      dependencies: p.dependencies,
      yanked: false,
      published_at: "",
    };
    const { path, source } = await ensureCached(ctx, registry, ctx.cache, v);
    sources.set(p.id, source);
    staged.push({ blobPath: path, locked: p });
  }
  const installed: InstalledPackage[] = [];
  await installIntoProject(projectDir, staged, {
    logger: ctx.logger,
    requires: lock.requires,
    replace: true,
    onPackage: (p, action) => installed.push({ ...p, source: sources.get(p.id) ?? "cache", action }),
  });
  return installed;
}

/** A package an install put in place (or found in place), with where its bytes came from */
export interface InstalledPackage extends LockedPackage {
  /** "central", "p2p:<peer>" or "cache": where the bytes came from this time (not recorded in the lock) */
  source: string;
  /** What the install did to it */
  action: InstallAction;
}

/** Resolve, download and install; returns every locked package and what happened to it */
export async function installPackages(
  ctx: Context,
  specs: string[],
  options: InstallOptions = {},
): Promise<InstalledPackage[]> {
  const projectDir = projectRoot();
  const lock = await readLockfile(projectDir);
  if (specs.length === 0 && options.unlock === undefined) {
    if (lockIsComplete(lock)) return await restoreFromLock(ctx, lock, projectDir);
    if (options.locked) {
      throw new ConflictError(
        "ggen.lock does not satisfy the project's requirements and --locked forbids changing it: " +
          "run `ggen install` without --locked, or `ggen update`",
      );
    }
  }
  const registry = await ctx.registry();
  const requires: Record<string, string> = { ...lock.requires };
  for (const spec of specs) {
    const { id, range } = parsePackageSpec(spec);
    if (!semver.validRange(range)) {
      throw new UsageError(`Invalid version range "${range}" in "${spec}": use ID@1.2.3, ID@^1.2 or ID@">=1 <2"`);
    }
    requires[id] = range;
  }
  const locked = new Map(lock.packages.map((p) => [p.id, p.version]));
  const requirements = Object.entries(requires).map(([id, range]) => ({ id, range }));
  const unlock = options.unlock ?? new Set(specs.map((s) => parsePackageSpec(s).id));
  const trust = await openTrustStore(ctx.config.home);
  const lockedById = new Map(lock.packages.map((p) => [p.id, p]));
  const infos = new Map<string, PackageInfo>();
  const checkedInfo = async (id: string, o: AbortOptions) => {
    const info = trustedPeerVersions(await verifiedInfo(ctx, registry, trust, id, { ...o, lock }), {
      pinned: pinsFor(trust, id, lockedById.get(id)?.publisher_key),
      trustedPublishers: ctx.config.p2p.trustedPublishers,
      minSources: ctx.config.p2p.minSources,
    });
    infos.set(id, info);
    return info;
  };
  const resolved = await resolve(requirements, checkedInfo, {
    locked,
    unlock,
    signal: ctx.signal,
    check: async (v) => void await verifyPublisherSignature(v),
  });
  // A bare id is saved as ^x.y.z of what got installed, like npm and cargo, not "*"
  for (const spec of specs) {
    if (spec.includes("@")) continue;
    const chosen = resolved.find((v) => v.id === spec);
    if (chosen && !chosen.version.includes("-")) requires[spec] = `^${chosen.version.split("+")[0]}`;
  }
  // Every version is checked against its publisher signature and the pinned key, whatever its source
  const publishers = new Map<string, string>();
  for (const v of resolved) {
    const lockedEntry = lockedById.get(v.id);
    // Only `ggen update` may move a locked version's bytes; a new requirement picks versions, never new bytes
    const relock = options.unlock === "all" || options.unlock?.has(v.id) === true;
    if (!relock) checkAgainstLock(v, lockedEntry);
    const lockedKey = lockedEntry?.publisher_key;
    const check = await verifyPublisher(v, infos.get(v.id), trust, {
      logger: ctx.logger,
      ...(lockedKey ? { lockedKey } : {}),
    });
    publishers.set(v.id, check.keyid);
    if (check.how === "first-use") {
      ctx.logger.info(`Trusting ${check.keyid} for "${v.id}" (first use; pinned in ${trust.path})`);
    }
    if (check.how === "rotated") {
      ctx.logger.info(`Accepted rotated key ${check.keyid} for "${v.id}" via its signed owner log`);
    }
  }
  const staged: StagedPackage[] = [];
  const sources = new Map<string, string>();
  for (const v of resolved) {
    const { path, source } = await ensureCached(ctx, registry, ctx.cache, v);
    sources.set(v.id, source);
    staged.push({
      blobPath: path,
      locked: {
        id: v.id,
        version: v.version,
        sha256: v.sha256,
        size: v.size,
        dependencies: v.dependencies,
        publisher_key: publishers.get(v.id)!,
      },
    });
  }
  // Every byte is in the cache: a node started for this command can stop while the files go in place
  ctx.networkDone();
  // The lock records the registry's key, so a fresh clone can verify re-shared registry documents
  const registryKey = registryKeyOf(ctx.config, trust, lock);
  const installed: InstalledPackage[] = [];
  await installIntoProject(projectDir, staged, {
    logger: ctx.logger,
    requires,
    replace: true,
    onPackage: (p, action) => installed.push({ ...p, source: sources.get(p.id) ?? "cache", action }),
    ...(registryKey ? { registry: lockedRegistry(registryKey) } : {}),
  });
  await trust.save();
  await ctx.afterFetch?.(resolved);
  return installed;
}

/** `ggen remove ID` */
export async function removePackage(ctx: Context, id: string): Promise<void> {
  const lock = await readLockfile(projectRoot());
  if (!(id in lock.requires)) {
    throw new NotFoundError(`Cannot remove "${id}": it is not a requirement of this project`);
  }
  await removeFromProject(projectRoot(), id);
  ctx.out.result({ removed: id }, `Removed ${id}`);
}
