/**
 * Trust: publisher keys, the trust store (pins, registry key, metadata seq) and the checks that
 * run before anything is installed.
 *
 * @example
 * ```ts ignore
 * import { openTrustStore, verifyPublisher } from "./mod.ts";
 * const store = await openTrustStore(home);
 * await verifyPublisher(version, info, store);
 * await store.save();
 * ```
 * @module
 */
export { generateKey, type KeyInfo, listKeys, loadOrCreateSigner, loadSigner } from "./keys.ts";
export { openTrustStore, type TrustStore } from "./trust_store.ts";
export {
  type MetadataCheckOptions,
  type PublisherCheck,
  verifyMetadata,
  verifyPublisher,
  verifyPublisherSignature,
} from "./policy.ts";
export { signVersion } from "./sign.ts";
