/**
 * Limits applied while reading an archive.
 * @module
 */
import { DEFAULT_MAX_ARCHIVE_ENTRIES, DEFAULT_MAX_UNPACKED_BYTES, MAX_ARCHIVE_PATH_LENGTH } from "../core/mod.ts";

/** Limits on what an archive may expand to */
export interface ArchiveLimits {
  /** @default DEFAULT_MAX_UNPACKED_BYTES */
  /** Most bytes an archive may expand to */
  maxUnpackedBytes?: number;
  /** @default DEFAULT_MAX_ARCHIVE_ENTRIES */
  /** Most entries in an archive */
  maxEntries?: number;
  /** @default MAX_ARCHIVE_PATH_LENGTH */
  /** Longest path inside an archive */
  maxPathLength?: number;
  /** @default 64 */
  /** Deepest directory nesting inside an archive */
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
