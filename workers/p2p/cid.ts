/**
 * The CIDv1 of a tarball (raw codec, sha2-256 multihash), the key of its provider records.
 * @module
 */
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { create as createDigest } from "multiformats/hashes/digest";
import { assertSha256Hex } from "../../src/core/mod.ts";

/** Multihash code of sha2-256 */
const SHA2_256 = 0x12;

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
