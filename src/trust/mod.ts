/**
 * Trust: publisher keys, the trust store (pins, registry key, metadata seq) and the checks that
 * run before anything is installed.
 *
 * @example
 * ```ts
 * import { openTrustStore, verifyPublisher } from "./mod.ts";
 * import type { PackageInfo } from "../core/mod.ts";
 * declare const info: PackageInfo;
 * const store = await openTrustStore("/tmp/ggen-home");
 * const check = await verifyPublisher(info.versions[0]!, info, store);
 * console.log(check.how, check.keyid);
 * await store.save();
 * ```
 * @module
 */
export { generateKey, type KeyInfo, listKeys, loadOrCreateSigner, loadSigner } from "./keys.ts";
export { openTrustStore, type TrustStore } from "./trust_store.ts";
export {
  type MetadataCheckOptions,
  type PeerTrustOptions,
  pinsFor,
  type PublisherCheck,
  trustedPeerVersions,
  verifyMetadata,
  verifyPublisher,
  verifyPublisherSignature,
} from "./policy.ts";
export { signVersion } from "./sign.ts";
