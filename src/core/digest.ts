/**
 * Content addressing: SHA-256 digests and their CIDv1 (raw codec, sha2-256 multihash).
 * @module
 */
import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { create as createDigest } from "multiformats/hashes/digest";
import { ValidationError } from "./errors.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Multihash code of sha2-256 */
const SHA2_256 = 0x12;

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

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The CID of a tarball whose SHA-256 is `hex` */
export function cidFromSha256(hex: string): CID {
  assertSha256Hex(hex);
  return CID.createV1(raw.code, createDigest(SHA2_256, hexToBytes(hex)));
}

/** The SHA-256 hex inside a raw/sha2-256 CID */
export function sha256FromCid(cid: CID): string {
  if (cid.code !== raw.code || cid.multihash.code !== SHA2_256) {
    throw new ValidationError(`Unsupported CID "${cid.toString()}": expected raw + sha2-256`);
  }
  return Array.from(cid.multihash.digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
