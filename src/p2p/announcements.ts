/**
 * Gossip announcements on `ggen/packages/announce` (design §4.2): their shape and the publisher's
 * signature over what they name.
 * @module
 */
import {
  checkPublishStatement,
  type Envelope,
  fromBase64,
  isValidPackageId,
  PAYLOAD_TYPES,
  type PublishStatement,
  TrustError,
  verifyEnvelope,
} from "../core/mod.ts";
import { checkVersionFields, decode, fail, isoUtcMs, MAX_CLOCK_SKEW_MS, str } from "./record_fields.ts";

/** A gossip announcement on `ggen/packages/announce` */
export interface Announcement {
  /** Discriminator of the statement, record or message */
  type: "announce";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** PeerId of the announcing peer; must be the gossip signer */
  peer_id: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** When it was announced: ISO 8601 UTC (design §4.2), e.g. "2026-11-30T12:00:00.000Z" */
  timestamp: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** Size of the tarball in bytes */
  size_bytes: number;
  /** Search tags */
  tags: string[];
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** The publisher's DSSE envelope */
  signature?: Envelope;
  /** base64 raw Ed25519 public key of the publisher */
  publisher_key?: string;
}

/**
 * Validate an announcement (or a catalog entry) and verify its publisher's signature over
 * exactly what it names: id, version, sha256, size and dependencies. Unsigned entries are
 * refused: whatever a node stores and re-serves, anyone can check.
 * @returns the announcement and the fingerprint of the key that signed it
 * @throws {ValidationError} for a bad shape, {TrustError} for a missing or wrong signature
 */
export async function verifyAnnouncement(
  bytes: Uint8Array,
  now = Date.now(),
): Promise<{ announcement: Announcement; keyid: string }> {
  const a = validateAnnouncement(bytes, now);
  if (!a.signature || !a.publisher_key) {
    throw new TrustError(`Refusing the announcement of "${a.package_id}@${a.version}": it is not signed`);
  }
  const { statement, keyid } = await verifyEnvelope<PublishStatement>(
    a.signature,
    PAYLOAD_TYPES.publish,
    fromBase64(a.publisher_key),
  );
  checkPublishStatement(statement, {
    id: a.package_id,
    version: a.version,
    sha256: a.sha256,
    size: a.size_bytes,
    dependencies: a.dependencies ?? {},
  });
  return { announcement: a, keyid };
}

/**
 * Validate a gossip announcement's shape (see {@link verifyAnnouncement} for its signature).
 * @throws {ValidationError}
 */
export function validateAnnouncement(bytes: Uint8Array, now = Date.now()): Announcement {
  const o = decode(bytes);
  if (o.type !== "announce") fail('announcement "type" must be "announce"');
  const id = str(o, "package_id", 128);
  if (!isValidPackageId(id)) fail(`"package_id" "${id}" is not a package id`);
  const at = isoUtcMs(o.timestamp);
  if (at === undefined) fail('"timestamp" must be ISO 8601 UTC, like "2026-11-30T12:00:00Z"');
  if (at > now + MAX_CLOCK_SKEW_MS) fail('"timestamp" is in the future');
  str(o, "peer_id", 128);
  checkVersionFields(o);
  return o as unknown as Announcement;
}
