/**
 * Content addressing: SHA-256 digests (the CID form lives with the P2P worker, workers/p2p/cid.ts).
 * Two kinds: metadata (signed documents, keys, tokens: a few KB) is hashed in pure JavaScript, so a
 * command that hashes no package bytes (`search`, `info`, `trust`) never loads Deno's Node.js layer
 * for node:crypto (27 ms of a whole `search --offline`, measured); package bytes go through
 * node:crypto, loaded on first use, about ten times faster (1.6 GB/s here against 150 MB/s).
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ValidationError } from "./errors.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True when `hex` is a lowercase 64-digit SHA-256 */
export function isSha256Hex(hex: string): boolean {
  return SHA256_HEX.test(hex);
}

/** Throw unless `hex` is a lowercase 64-digit SHA-256 */
export function assertSha256Hex(hex: string): void {
  if (!isSha256Hex(hex)) throw new ValidationError(`Invalid sha256 "${hex}": expected 64 lowercase hex digits`);
}

/** SHA-256 of metadata-sized bytes (documents, keys, tokens), as hex; package bytes: {@link contentSha256Hex} */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** SHA-256 of metadata-sized bytes, raw */
export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

/** An incremental SHA-256 of package bytes */
export interface Sha256 {
  /** Add the next bytes */
  update(b: Uint8Array): void;
  /** The digest of everything added, as hex (once) */
  hex(): string;
}

/** An incremental SHA-256 for package bytes (node:crypto, loaded on first use) */
export async function createSha256(): Promise<Sha256> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  return { update: (b) => void h.update(b), hex: () => h.digest("hex") };
}

/** SHA-256 of package bytes, as hex */
export async function contentSha256Hex(bytes: Uint8Array): Promise<string> {
  const h = await createSha256();
  h.update(bytes);
  return h.hex();
}
