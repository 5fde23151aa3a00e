/**
 * The package model: one published version, a package with its versions, a search hit.
 * Central metadata, P2P records, announcements and the lockfile are all built from these.
 * @module
 */
import type { Envelope } from "./envelope.ts";
import type { Manifest } from "./manifest.ts";

/** One published version of a package */
export interface PackageVersion {
  /** Reverse-DNS package id */
  id: string;
  /** Semver 2.0 version */
  version: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
  /** SHA-256 of the tarball, the content address */
  sha256: string;
  /** Size of the tarball in bytes */
  size: number;
  /** package id → semver range */
  dependencies: Record<string, string>;
  /** True when the version is hidden from new resolution */
  yanked: boolean;
  /** ISO 8601 */
  published_at: string;
  /** The publisher's DSSE envelope over a PublishStatement (see envelope.ts) */
  signature?: Envelope;
  /** base64 raw Ed25519 public key that made {@link signature} */
  publisher_key?: string;
}

/** A package owner's public key */
export interface OwnerKey {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 raw Ed25519 public key */
  public_key: string;
}

/** A package with every known version, newest last */
export interface PackageInfo {
  /** Reverse-DNS package id */
  id: string;
  /** Human-readable name */
  name: string;
  /** One-line description */
  description: string;
  /** Every version, oldest first */
  versions: PackageVersion[];
  /** Current owner keys (central only) */
  owners?: OwnerKey[];
  /** Every owner change, oldest first, each signed by an owner at the time (central only) */
  owner_log?: Envelope[];
  /** The registry's signature over a MetadataStatement of this document (central only) */
  metadata_signature?: Envelope;
  /**
   * Which backend built the document, set by the client that received it (never read from the
   * wire): "central" documents must carry the registry's signature once its key is pinned;
   * "cache" is central's signed document kept on disk (or re-shared by a peer), checked the same
   * way but usable after it expired, since it is used exactly when central cannot be asked;
   * "static" comes from a static index.json, which no registry signs (each version is checked
   * against its publisher's pinned key, as for peers).
   */
  source?: "central" | "p2p" | "cache" | "static";
  /**
   * For a "p2p" document: how many distinct peers vouch for each version (returned its signed
   * record or catalog entry, announced holding it, or provide the bytes it names), by version, set
   * by the client that asked (never read from the wire); `min_sources` applies to it
   */
  vouchers?: Record<string, number>;
}

/** One search result */
export interface SearchHit {
  /** Reverse-DNS package id */
  id: string;
  /** Human-readable name */
  name: string;
  /** Highest non-yanked version */
  version: string;
  /** One-line description */
  description: string;
  /** Search tags */
  tags: string[];
  /** Which backend answered: "central" | "p2p" | "cache" */
  source: string;
}

/** A search request */
export interface SearchQuery {
  /** Free-text query */
  text: string;
  /** @default 20 */
  /** Most results */
  limit?: number;
  /** @default 0 */
  /** Byte offset to start at */
  offset?: number;
}

/** Build the version metadata of a manifest once its tarball is known */
export function versionFromManifest(
  manifest: Manifest,
  tarball: { sha256: string; size: number },
  publishedAt: string = new Date().toISOString(),
): PackageVersion {
  return {
    id: manifest.id,
    version: manifest.version,
    name: manifest.name,
    description: manifest.description,
    tags: manifest.tags,
    keywords: manifest.keywords,
    sha256: tarball.sha256,
    size: tarball.size,
    dependencies: manifest.dependencies,
    yanked: false,
    published_at: publishedAt,
  };
}

/** Split `id@range` into its parts; a bare id means any version */
export function parsePackageSpec(spec: string): { id: string; range: string } {
  const at = spec.indexOf("@");
  if (at === -1) return { id: spec, range: "*" };
  return { id: spec.slice(0, at), range: spec.slice(at + 1) || "*" };
}
