/**
 * Limits applied while reading an archive.
 * @module
 */
import { DEFAULT_MAX_ARCHIVE_ENTRIES, DEFAULT_MAX_UNPACKED_BYTES, MAX_ARCHIVE_PATH_LENGTH } from "../core/constants.ts";

/** Limits on what an archive may expand to */
export interface ArchiveLimits {
  /** @default DEFAULT_MAX_UNPACKED_BYTES */
  maxUnpackedBytes?: number;
  /** @default DEFAULT_MAX_ARCHIVE_ENTRIES */
  maxEntries?: number;
  /** @default MAX_ARCHIVE_PATH_LENGTH */
  maxPathLength?: number;
  /** @default 64 */
  maxDepth?: number;
}

/** Limits with every default filled in */
export function resolveLimits(limits: ArchiveLimits = {}): Required<ArchiveLimits> {
  return {
    maxUnpackedBytes: limits.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
    maxEntries: limits.maxEntries ?? DEFAULT_MAX_ARCHIVE_ENTRIES,
    maxPathLength: limits.maxPathLength ?? MAX_ARCHIVE_PATH_LENGTH,
    maxDepth: limits.maxDepth ?? 64,
  };
}
