/**
 * Building the values ggen puts on the network from its package model (version and index
 * records, announcements), reading them back, and the multi-source agreement over the values
 * peers return. Validation of what arrives lives in records.ts and announcements.ts.
 * @module
 */
import {
  fingerprint,
  fromBase64,
  type PackageVersion,
  PAYLOAD_TYPES,
  signEnvelope,
  type Signer,
  toBase64,
  TrustError,
} from "../core/mod.ts";
import type { Announcement } from "./announcements.ts";
import {
  type IndexRecord,
  type IndexStatement,
  recordName,
  type RecordProvider,
  recordSeq,
  type VersionRecord,
} from "./records.ts";
import type { CatalogEntry } from "./catalog.ts";

/** Build and sign the index record of a package */
export async function signedIndexRecord(
  id: string,
  versions: { version: string; sha256: string }[],
  publisher: string,
  signer: Signer,
  timestamp = Date.now(),
): Promise<IndexRecord> {
  const statement: IndexStatement = { type: "ggen.index/1", package_id: id, versions, timestamp };
  return {
    ...statement,
    publisher,
    signature: await signEnvelope(PAYLOAD_TYPES.index, statement, signer),
    publisher_key: toBase64(signer.publicKeyRaw),
  };
}

/** Build a version record from package metadata; `providers` are the nodes holding the bytes */
export function versionRecordOf(
  v: PackageVersion,
  publisher: string,
  timestamp = Date.now(),
  providers: RecordProvider[] = [],
): VersionRecord {
  return {
    type: "ggen.version/1",
    package_id: v.id,
    version: v.version,
    name: v.name,
    sha256: v.sha256,
    size_bytes: v.size,
    description: v.description,
    tags: v.tags,
    keywords: v.keywords,
    dependencies: v.dependencies,
    publisher,
    timestamp,
    providers,
    ...(v.signature ? { signature: v.signature } : {}),
    ...(v.publisher_key ? { publisher_key: v.publisher_key } : {}),
  };
}

/** This node as a provider named in a record: its first listen address */
export function selfProvider(peerId: string, listenAddrs: string[], at = Date.now()): RecordProvider[] {
  const addr = listenAddrs[0];
  return addr ? [{ peer_id: peerId, multiaddr: addr, last_seen: new Date(at).toISOString() }] : [];
}

/** Package metadata from a version record */
export function versionFromRecord(r: VersionRecord): PackageVersion {
  return {
    id: r.package_id,
    version: r.version,
    name: r.name,
    description: r.description,
    tags: r.tags,
    keywords: r.keywords ?? [],
    sha256: r.sha256,
    size: r.size_bytes,
    dependencies: r.dependencies,
    yanked: false,
    published_at: publishedAtOf(r),
    ...(r.signature ? { signature: r.signature } : {}),
    ...(r.publisher_key ? { publisher_key: r.publisher_key } : {}),
  };
}

/**
 * Package metadata from a catalog entry: the same publisher-signed statement as a version
 * record (the caller verifies the signature as it does a record's), without keywords
 */
export function versionFromCatalogEntry(e: CatalogEntry): PackageVersion {
  return versionFromRecord({
    type: "ggen.version/1",
    package_id: e.package_id,
    version: e.version,
    name: e.name,
    sha256: e.sha256,
    size_bytes: e.size_bytes,
    description: e.description,
    tags: e.tags,
    keywords: [],
    dependencies: e.dependencies,
    publisher: e.peer_id,
    timestamp: Date.parse(e.timestamp),
    ...(e.signature ? { signature: e.signature } : {}),
    ...(e.publisher_key ? { publisher_key: e.publisher_key } : {}),
  });
}

/** The signed publish time when the record carries a signature, else the record time */
function publishedAtOf(r: VersionRecord): string {
  try {
    if (r.signature) {
      const s = JSON.parse(new TextDecoder().decode(fromBase64(r.signature.payload))) as { published_at?: unknown };
      if (typeof s.published_at === "string") return s.published_at;
    }
  } catch {
    // fall back to the record time; the signature check will refuse a bad envelope
  }
  return new Date(r.timestamp).toISOString();
}

/** The announcement of a publish */
export function announcementOf(v: PackageVersion, peerId: string, timestamp = Date.now()): Announcement {
  return {
    type: "announce",
    package_id: v.id,
    version: v.version,
    peer_id: peerId,
    sha256: v.sha256,
    timestamp: new Date(timestamp).toISOString(),
    name: v.name,
    description: v.description,
    size_bytes: v.size,
    tags: v.tags,
    dependencies: v.dependencies,
    ...(v.signature ? { signature: v.signature } : {}),
    ...(v.publisher_key ? { publisher_key: v.publisher_key } : {}),
  };
}

/** A verified record value and the peers that returned it */
export interface RecordValue {
  /** The record value as JSON text */
  value: string;
  /** PeerIds that returned this value */
  from: string[];
}

/**
 * Multi-source agreement (design §9.1) over the values peers returned for one version key:
 * they must name the same content. On disagreement the answer signed by a pinned key wins;
 * without one the lookup is refused, naming the peers on each side.
 * @throws {TrustError}
 */
export function agreeOnVersion(key: string, values: RecordValue[], pinned: string[]): RecordValue | undefined {
  const bySha = new Map<string, { value: RecordValue; from: Set<string>; keyid: string }>();
  for (const v of values) {
    const r = JSON.parse(v.value) as VersionRecord;
    const keyid = r.publisher_key ? fingerprint(fromBase64(r.publisher_key)) : "";
    const group = bySha.get(r.sha256) ?? { value: v, from: new Set<string>(), keyid };
    for (const f of v.from) group.from.add(f);
    if (recordSeq(r) > recordSeq(JSON.parse(group.value.value) as VersionRecord)) group.value = v;
    bySha.set(r.sha256, group);
  }
  const groups = [...bySha.values()];
  if (groups.length <= 1) return groups[0]?.value;
  const trusted = groups.filter((g) => pinned.includes(g.keyid));
  if (trusted.length === 1) return trusted[0]!.value;
  const sides = groups.map((g) => `${g.keyid || "unsigned"} from ${[...g.from].join(", ") || "local"}`).join("; ");
  throw new TrustError(
    `Refusing ${
      recordName(key)
    }: peers disagree on its content (${sides}); pin the right publisher with \`ggen trust\``,
  );
}

/** Encode a record or announcement */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
