/**
 * The local store: the content-addressed cache, atomic writes, project installs and the lockfile.
 *
 * @example
 * ```ts
 * import { createPackageCache } from "./mod.ts";
 * import { silentLogger } from "../core/mod.ts";
 * const cache = createPackageCache({ logger: silentLogger }, { home: "/tmp/ggen-home" });
 * const path: string | undefined = await cache.get("0".repeat(64));
 * ```
 * @module
 */
export { createPackageCache, type PackageCache, type PackageCacheComponents, type PutOptions } from "./cache.ts";
export {
  hashFile,
  removeOrphanTemps,
  type VerifiedWriteOptions,
  writeFileAtomic,
  writeStreamVerified,
} from "./atomic.ts";
export {
  type LockedPackage,
  type LockedRegistry,
  lockedRegistry,
  type Lockfile,
  readLockfile,
  writeLockfile,
} from "./lockfile.ts";
export {
  type InstallAction,
  type InstallInit,
  installIntoProject,
  isInstalled,
  packageDir,
  projectPaths,
  projectRoot,
  removeFromProject,
  repairProject,
  type StagedPackage,
} from "./project.ts";
export { createKeyFiles, loadKeyFiles, loadOrCreateKeyFiles } from "./keyfile.ts";
export { type Difference, verifyProject } from "./verify.ts";
export { openRecordCache, type RecordCache } from "./record_cache.ts";
export { type MetadataCache, type MetadataCacheInit, metadataPath, openMetadataCache } from "./metadata_cache.ts";
