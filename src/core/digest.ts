/**
 * Content addressing: SHA-256 digests (the CID form lives with the P2P worker, workers/p2p/cid.ts).
 * @module
 */
import { createHash } from "node:crypto";
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

/** SHA-256 of bytes, as hex */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** An incremental SHA-256 */
export function createSha256(): { update(b: Uint8Array): void; hex(): string } {
  const h = createHash("sha256");
  return { update: (b) => void h.update(b), hex: () => h.digest("hex") };
}
