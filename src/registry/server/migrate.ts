/**
 * Moving a registry between storage backends (`ggen registry migrate`): every package with its
 * rows as they are (seq, owners, owner log, signed versions), every blob verified against its
 * SHA-256 on the way, every token hash; then both sides are compared package by package and blob
 * by blob. Re-runnable: what is already in the target, identical, is counted as unchanged.
 * @module
 */
import { contentSha256Hex, readAllLimited, ValidationError } from "../../core/mod.ts";
import { type BlobStore, type MetadataStore, samePackage } from "./storage.ts";

/** One side of a migration */
export interface RegistryStorage {
  /** Packages, versions, owners, tokens */
  metadata: MetadataStore;
  /** Tarballs by SHA-256 */
  blobs: BlobStore;
}

/** What a migration did and found */
export interface MigrationReport {
  /** Packages written, and packages the target already held identically */
  packages: { imported: number; unchanged: number };
  /** Versions in the source */
  versions: number;
  /** Blobs copied (and their bytes), and blobs the target already held */
  blobs: { copied: number; present: number; bytes: number };
  /** Token hashes written, and those the target already held */
  tokens: { imported: number; present: number };
  /** Packages or blobs that differ between source and target after the copy (empty when all match) */
  mismatches: string[];
}

/** Package ids read per page */
const PAGE = 500;
/** Largest blob a migration reads into memory (the server's tarball cap is far below) */
const MAX_BLOB_BYTES = 1024 * 1024 * 1024;

async function* allIds(metadata: MetadataStore, signal?: AbortSignal): AsyncGenerator<string> {
  let after = "";
  for (;;) {
    signal?.throwIfAborted();
    const ids = await metadata.listPackageIds(after, PAGE);
    yield* ids;
    if (ids.length < PAGE) return;
    after = ids.at(-1)!;
  }
}

/** Copy `source` into `target`, then compare them */
export async function migrateRegistry(
  source: RegistryStorage,
  target: RegistryStorage,
  options: { signal?: AbortSignal; onPackage?: (id: string, done: number) => void } = {},
): Promise<MigrationReport> {
  const report: MigrationReport = {
    packages: { imported: 0, unchanged: 0 },
    versions: 0,
    blobs: { copied: 0, present: 0, bytes: 0 },
    tokens: { imported: 0, present: 0 },
    mismatches: [],
  };
  let done = 0;
  for await (const id of allIds(source.metadata, options.signal)) {
    const record = (await source.metadata.exportPackage(id))!;
    // Blobs first, rows second (as a publish does): a crash in between leaves only an orphan blob
    for (const { version } of record.versions) {
      if ((await target.blobs.size(version.sha256)) === version.size) {
        report.blobs.present++;
        continue;
      }
      const body = await source.blobs.open(version.sha256);
      if (!body) throw new ValidationError(`The source has no blob ${version.sha256} for "${id}@${version.version}"`);
      const bytes = await readAllLimited(body, {
        limit: MAX_BLOB_BYTES,
        tooLarge: () => new ValidationError(`Blob ${version.sha256} is over ${MAX_BLOB_BYTES} bytes`),
      });
      if ((await contentSha256Hex(bytes)) !== version.sha256) {
        throw new ValidationError(
          `The source's blob of "${id}@${version.version}" does not hash to ${version.sha256}: repair the source first`,
        );
      }
      await target.blobs.put(version.sha256, bytes);
      report.blobs.copied++;
      report.blobs.bytes += bytes.byteLength;
    }
    report.versions += record.versions.length;
    report.packages[await target.metadata.importPackage(record)]++;
    options.onPackage?.(id, ++done);
  }
  for (const token of await source.metadata.listTokens()) {
    if (await target.metadata.importToken(token)) report.tokens.imported++;
    else report.tokens.present++;
  }
  // The comparison reads both sides again: counts, seqs, owners, signatures and every blob
  for await (const id of allIds(source.metadata, options.signal)) {
    const [a, b] = await Promise.all([source.metadata.exportPackage(id), target.metadata.exportPackage(id)]);
    if (!b || !samePackage(a!, b)) {
      report.mismatches.push(`package ${id}`);
      continue;
    }
    for (const { version } of a!.versions) {
      if ((await target.blobs.size(version.sha256)) !== version.size) report.mismatches.push(`blob ${version.sha256}`);
    }
  }
  return report;
}
