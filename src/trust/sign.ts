/**
 * Signing a version before it is published.
 * @module
 */
import {
  type PackageVersion,
  PAYLOAD_TYPES,
  type PublishStatement,
  signEnvelope,
  type Signer,
  toBase64,
} from "../core/mod.ts";

/** Sign `v` with `signer`; `seq` must be above every seq signed before for this package */
export async function signVersion(v: PackageVersion, signer: Signer, seq: number): Promise<PackageVersion> {
  const statement: PublishStatement = {
    type: "ggen.publish/1",
    package_id: v.id,
    version: v.version,
    sha256: v.sha256,
    size: v.size,
    published_at: v.published_at,
    seq,
    dependencies: v.dependencies,
  };
  return {
    ...v,
    signature: await signEnvelope(PAYLOAD_TYPES.publish, statement, signer),
    publisher_key: toBase64(signer.publicKeyRaw),
  };
}
