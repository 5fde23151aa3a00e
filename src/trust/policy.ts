/**
 * What the client checks before it installs anything, whatever the source (central, P2P,
 * cache): the publisher's signature over exactly this version, the publisher key against the
 * pin (trust on first use; a change is accepted only through a chain of owner changes signed by
 * trusted keys), and for central metadata the registry's signature, its expiry (freeze) and its
 * `seq` (rollback).
 * @module
 */
import {
  canonicalJson,
  checkPublishStatement,
  fingerprint,
  fromBase64,
  type Logger,
  type MetadataStatement,
  type OwnersStatement,
  type PackageInfo,
  type PackageVersion,
  PAYLOAD_TYPES,
  type PublishStatement,
  sha256Hex,
  TrustError,
  verifyEnvelope,
} from "../core/mod.ts";
import type { TrustStore } from "./trust_store.ts";

/** Result of {@link verifyPublisher} */
export interface PublisherCheck {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** "pinned" (matched), "first-use" (pinned now) or "rotated" (accepted through the owner log) */
  how: "pinned" | "first-use" | "rotated";
}

/** Walk the owner log from the pinned keys; returns the keys trusted at the end */
async function walkOwnerLog(info: PackageInfo, pinned: string[], logger?: Logger): Promise<Set<string>> {
  const trusted = new Set(pinned);
  // Public keys are self-authenticating (keyid = fingerprint), so any listed copy will do:
  // current owners, keys added in the log, and the keys that signed earlier versions
  const keys = new Map<string, string>();
  const learn = (publicKey: string | undefined) => {
    if (!publicKey) return;
    try {
      keys.set(fingerprint(fromBase64(publicKey)), publicKey);
    } catch {
      // not a key
    }
  };
  for (const o of info.owners ?? []) learn(o.public_key);
  for (const v of info.versions) learn(v.publisher_key);
  for (const envelope of info.owner_log ?? []) {
    const signerId = envelope.signatures[0]?.keyid ?? "";
    if (!trusted.has(signerId)) continue;
    const publicKey = keys.get(signerId);
    if (!publicKey) continue;
    try {
      const { statement } = await verifyEnvelope<OwnersStatement>(
        envelope,
        PAYLOAD_TYPES.owners,
        fromBase64(publicKey),
      );
      if (statement.package_id !== info.id) continue;
      if (statement.action === "add" && fingerprint(fromBase64(statement.public_key)) === statement.keyid) {
        trusted.add(statement.keyid);
        learn(statement.public_key);
      } else if (statement.action === "remove") {
        trusted.delete(statement.keyid);
      }
    } catch (err) {
      // an entry that does not verify changes nothing, but someone should be able to see it
      logger?.debug(`owner log of "${info.id}": ignored an entry signed by ${signerId}: ${(err as Error).message}`);
    }
  }
  return trusted;
}

/**
 * The keys a package is pinned to: the trust store's, or, on a fresh machine, the key a
 * committed ggen.lock names (it recorded who signed)
 */
export function pinsFor(store: TrustStore, id: string, lockedKey?: string): string[] {
  const pinned = store.pinned(id);
  return pinned.length === 0 && lockedKey ? [lockedKey] : pinned;
}

/**
 * Verify that the publisher signed exactly `v` (id, version, bytes, size, dependencies),
 * whoever the publisher is. Resolution calls it before it follows a version's dependencies.
 * @throws {TrustError}
 */
export async function verifyPublisherSignature(v: PackageVersion): Promise<string> {
  if (!v.signature || !v.publisher_key) {
    throw new TrustError(`Refusing "${v.id}@${v.version}": it is not signed by its publisher`);
  }
  const { statement, keyid } = await verifyEnvelope<PublishStatement>(
    v.signature,
    PAYLOAD_TYPES.publish,
    fromBase64(v.publisher_key),
  );
  checkPublishStatement(statement, v);
  return keyid;
}

/**
 * Verify the publisher signature of `v` and check its key against the trust store.
 * @throws {TrustError} naming both fingerprints and the command that accepts the new key
 */
export async function verifyPublisher(
  v: PackageVersion,
  info: PackageInfo | undefined,
  store: TrustStore,
  o: { lockedKey?: string; logger?: Logger } = {},
): Promise<PublisherCheck> {
  const keyid = await verifyPublisherSignature(v);
  const pinned = pinsFor(store, v.id, o.lockedKey);
  if (pinned.length === 0) {
    store.pin(v.id, [keyid]);
    return { keyid, how: "first-use" };
  }
  if (pinned.includes(keyid)) {
    if (store.pinned(v.id).length === 0) store.pin(v.id, pinned);
    return { keyid, how: "pinned" };
  }
  if (info) {
    const trusted = await walkOwnerLog(info, pinned, o.logger);
    if (trusted.has(keyid)) {
      store.pin(v.id, [...trusted]);
      return { keyid, how: "rotated" };
    }
  }
  throw new TrustError(
    `Refusing "${v.id}@${v.version}": it is signed by key ${keyid}, but "${v.id}" is pinned to ${pinned.join(", ")}${
      o.lockedKey && pinned.includes(o.lockedKey) ? " (by ggen.lock)" : ""
    }. If you trust the new key, run: ggen trust ${v.id} ${keyid}`,
  );
}

/** Options of {@link verifyMetadata} */
export interface MetadataCheckOptions {
  /** Registry key from config (`[registry] public_key`), base64 raw; wins over the pinned one */
  configuredKey?: string;
  /** The key the registry announces, pinned on first use when nothing is configured */
  announcedKey?: () => Promise<string>;
  /** The time to check against (tests) */
  now?: Date;
  /** Where to log */
  logger?: Logger;
}

/**
 * Verify the registry's signature over a package document: key, digest of the versions, expiry
 * and seq. Once a registry key is configured or pinned, every document from central must carry
 * its signature: stripping it would otherwise switch off rollback and freeze protection. Peer
 * documents (P2P) are checked version by version by {@link verifyPublisher} instead.
 * @throws {TrustError} for rollback (older seq), freeze (expired), wrong key, tampering or a missing signature
 */
export async function verifyMetadata(
  info: PackageInfo,
  store: TrustStore,
  o: MetadataCheckOptions = {},
): Promise<void> {
  const key = o.configuredKey ?? store.registryKey();
  if (!info.metadata_signature) {
    // Peers and static indexes have no registry behind them: their versions are checked one by one
    if (key && info.source !== "p2p" && info.source !== "static") {
      throw new TrustError(
        `Refusing metadata of "${info.id}": the registry did not sign it, but its key ${
          fingerprint(fromBase64(key))
        } is pinned (a proxy stripped the signature, or this is another registry)`,
      );
    }
    return;
  }
  let publicKey = key;
  if (!publicKey) {
    publicKey = await o.announcedKey?.();
    if (!publicKey) return;
    store.setRegistryKey(publicKey);
    o.logger?.info(`Pinned the registry key ${fingerprint(fromBase64(publicKey))} in ${store.path}`);
  }
  const { statement } = await verifyEnvelope<MetadataStatement>(
    info.metadata_signature,
    PAYLOAD_TYPES.metadata,
    fromBase64(publicKey),
  );
  if (statement.type !== "ggen.metadata/1" || statement.package_id !== info.id) {
    throw new TrustError(`Refusing metadata of "${info.id}": it is signed for "${statement.package_id}"`);
  }
  const digest = sha256Hex(new TextEncoder().encode(canonicalJson(info.versions)));
  if (digest !== statement.versions_digest) {
    throw new TrustError(`Refusing metadata of "${info.id}": the versions do not match the registry's signature`);
  }
  const now = o.now ?? new Date();
  if (!(Date.parse(statement.expires) > now.getTime())) {
    // A kept copy is used when central cannot be asked: old, but still the registry's word (and
    // never older than a seq already seen, below)
    if (info.source !== "cache") {
      throw new TrustError(`Refusing metadata of "${info.id}": it expired at ${statement.expires} (freeze attack?)`);
    }
    o.logger?.warn(`Metadata of "${info.id}" from the cache expired at ${statement.expires}; using it offline`);
  }
  const seen = store.metadataSeq(info.id);
  if (statement.seq < seen) {
    throw new TrustError(
      `Refusing metadata of "${info.id}": seq ${statement.seq} is older than the ${seen} already seen (rollback attack?)`,
    );
  }
  if (statement.seq > seen) store.setMetadataSeq(info.id, statement.seq);
}

/** Options of {@link trustedPeerVersions} */
export interface PeerTrustOptions {
  /** Keys pinned for the package (trust store, or the lock on a fresh machine) */
  pinned: string[];
  /** `[registry.p2p.security] trusted_publishers`: on a private network, the only keys accepted */
  trustedPublishers: string[];
  /**
   * `[registry.p2p.security] min_sources`: with no pinned key, a version counts only when this
   * many distinct peers returned its signed record. @default 1
   */
  minSources?: number;
}

/**
 * The versions of a package document from peers that may be considered at all. Peers' documents
 * have no registry behind them, so the signer decides: with a pinned key (or a list of trusted
 * publishers) only versions signed by those keys count, so an attacker's higher version never
 * shadows the owner's; without one, versions signed by different keys are a conflict the user
 * settles, never the network.
 * @throws {TrustError} naming every signer and its versions
 */
export function trustedPeerVersions(info: PackageInfo, o: PeerTrustOptions): PackageInfo {
  if (info.source !== "p2p") return info;
  const keyOf = (v: PackageVersion) => {
    try {
      return v.publisher_key ? fingerprint(fromBase64(v.publisher_key)) : "unsigned";
    } catch {
      return "invalid";
    }
  };
  const signers = info.versions.map(keyOf);
  const bySigner = new Map<string, string[]>();
  info.versions.forEach((v, i) => bySigner.set(signers[i]!, [...(bySigner.get(signers[i]!) ?? []), v.version]));
  const describe = () => [...bySigner].map(([k, vs]) => `${k} (${vs.join(", ")})`).join(" and ");
  const allowed = o.pinned.length > 0 ? o.pinned : o.trustedPublishers;
  if (allowed.length > 0) {
    const kept = info.versions.filter((_, i) => allowed.includes(signers[i]!));
    if (kept.length === 0) {
      // Never suggest trusting a key only peers vouch for
      throw new TrustError(
        `Refusing "${info.id}" from peers: no version is signed by ${
          o.pinned.length ? "its pinned key" : "a trusted publisher"
        } (${allowed.join(", ")}); peers offer ${describe()}`,
      );
    }
    return { ...info, versions: kept };
  }
  if (bySigner.size > 1) {
    throw new TrustError(
      `Refusing "${info.id}" from peers: its versions are signed by different keys: ${describe()}. ` +
        `Ask the publisher for its fingerprint, then pin it: ggen trust ${info.id} KEY`,
    );
  }
  // First use: one peer alone (or a few colluding ones) must not decide whose key gets pinned
  const minSources = o.minSources ?? 1;
  const vouched = (v: PackageVersion) => (info.vouchers?.[v.version] ?? 0) >= minSources;
  if (minSources > 1 && !info.versions.some(vouched)) {
    const most = Math.max(0, ...info.versions.map((v) => info.vouchers?.[v.version] ?? 0));
    throw new TrustError(
      `Refusing "${info.id}" from peers on first use: at most ${most} peer(s) vouch for it (return its signed ` +
        "record or provide its bytes), " +
        `fewer than min_sources (${minSources}). Connect to more peers (a bootstrap peer you trust), pin the ` +
        `publisher's key if the publisher gave you its fingerprint (ggen trust ${info.id} KEY; peers offer ` +
        `${describe()}), or lower [registry.p2p.security] min_sources`,
    );
  }
  return minSources > 1 ? { ...info, versions: info.versions.filter(vouched) } : info;
}
