/**
 * Package archives: deterministic packing and validated unpacking.
 *
 * @example
 * ```ts
 * import { packDirectory, unpackArchive } from "./mod.ts";
 * const packed = await packDirectory("examples/rust-cli");
 * await unpackArchive(packed.bytes, "/tmp/ggen-out");
 * ```
 * @module
 */
export { packDirectory, type PackedPackage, type PackOptions } from "./pack.ts";
export {
  type ArchiveEntry,
  type ArchiveSource,
  checkEntryPath,
  readArchive,
  readManifestFromArchive,
  readRootText,
  unpackArchive,
  type UnpackResult,
} from "./unpack.ts";
export { type ArchiveLimits, resolveLimits } from "./limits.ts";
