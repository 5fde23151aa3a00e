/**
 * The one signature envelope of ggen, used wherever a signature travels: central metadata, DHT
 * records, gossip announcements and the lockfile. It is DSSE (https://github.com/secure-systems-lab/dsse):
 * `{ payloadType, payload: base64(canonical JSON), signatures: [{ keyid, sig }] }`, where `sig` is
 * an Ed25519 signature over `PAE(payloadType, payload)` =
 * `"DSSEv1" SP len(type) SP type SP len(body) SP body`, and `keyid` is the key's fingerprint
 * `SHA256:<base64 of SHA-256(raw public key)>`. Canonical JSON sorts object keys and has no spaces.
 * Crypto is WebCrypto Ed25519; nothing here is hand-written cryptography.
 * @module
 */
import { fromBase64, toBase64 } from "./bytes.ts";
import { sha256Bytes } from "./digest.ts";
import { TrustError } from "./errors.ts";

/** Payload types */
export const PAYLOAD_TYPES = {
  publish: "application/vnd.ggen.publish.v1+json",
  owners: "application/vnd.ggen.owners.v1+json",
  metadata: "application/vnd.ggen.metadata.v1+json",
  index: "application/vnd.ggen.index.v1+json",
  yank: "application/vnd.ggen.yank.v1+json",
} as const;

/** Largest payload accepted, so a hostile peer cannot feed endless data */
export const MAX_ENVELOPE_PAYLOAD_BYTES = 64 * 1024;

/** One signature */
export interface EnvelopeSignature {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 Ed25519 signature over PAE(payloadType, payload) */
  sig: string;
}

/** A DSSE envelope */
export interface Envelope {
  /** Media type of the payload, e.g. application/vnd.ggen.publish.v1+json */
  payloadType: string;
  /** base64 of the canonical JSON statement */
  payload: string;
  /** One or more signatures over the payload */
  signatures: EnvelopeSignature[];
}

/** What a publisher signs for each version */
export interface PublishStatement {
  /** Discriminator of the statement, record or message */
  type: "ggen.publish/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** SHA-256 of the tarball, hex: the content address */
  sha256: string;
  /** Size in bytes */
  size: number;
  /** ISO 8601 publish time */
  published_at: string;
  /** Per-package counter that only grows */
  seq: number;
  /**
   * The version's dependency table (id → range). Signed so that no registry, mirror or peer
   * can add, drop or change a dependency.
   */
  dependencies: Record<string, string>;
}

/** An owner change, signed by a current owner */
export interface OwnersStatement {
  /** Discriminator of the statement, record or message */
  type: "ggen.owners/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Add or remove the key */
  action: "add" | "remove";
  /** Fingerprint of the key added or removed */
  keyid: string;
  /** base64 raw public key of the key added */
  public_key: string;
  /** Counter that only grows */
  seq: number;
  /** Milliseconds since the epoch (ISO 8601 text in statements) */
  timestamp: string;
}

/**
 * A yank or unyank, signed by a current owner. `package_seq` is the package's metadata `seq`
 * the owner saw; the registry applies the change only at that seq and every change bumps it,
 * so a captured statement cannot be replayed.
 */
export interface YankStatement {
  /** Discriminator of the statement, record or message */
  type: "ggen.yank/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Semver 2.0 version */
  version: string;
  /** True when the version is hidden from new resolution */
  yanked: boolean;
  /** The package's metadata seq the owner saw */
  package_seq: number;
  /** Milliseconds since the epoch (ISO 8601 text in statements) */
  timestamp: string;
}

/** The registry's signed view of a package's metadata */
export interface MetadataStatement {
  /** Discriminator of the statement, record or message */
  type: "ggen.metadata/1";
  /** Reverse-DNS package id the statement or record is about */
  package_id: string;
  /** Grows with every change of the package */
  seq: number;
  /** ISO 8601; clients refuse the document after it */
  expires: string;
  /** SHA-256 of the canonical JSON of the versions list */
  versions_digest: string;
  /** Fingerprints of the current owners */
  owners: string[];
}

/** A signing key */
export interface Signer {
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** The Ed25519 private key (WebCrypto, not extractable) */
  privateKey: CryptoKey;
  /** The raw 32-byte Ed25519 public key */
  publicKeyRaw: Uint8Array;
}

const enc = new TextEncoder();

/** Canonical JSON: object keys sorted, no whitespace */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** DSSE pre-authentication encoding */
export function pae(payloadType: string, body: Uint8Array): Uint8Array {
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.byteLength} ${payloadType} ${body.byteLength} `);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head);
  out.set(body, head.byteLength);
  return out;
}

/** `SHA256:<base64>` fingerprint of a raw Ed25519 public key */
export function fingerprint(publicKeyRaw: Uint8Array): string {
  return `SHA256:${toBase64(sha256Bytes(publicKeyRaw)).replace(/=+$/, "")}`;
}

/** Import a raw Ed25519 public key */
export async function importPublicKey(publicKeyRaw: Uint8Array): Promise<CryptoKey> {
  if (publicKeyRaw.byteLength !== 32) throw new TrustError("Invalid public key: Ed25519 keys are 32 bytes");
  return await crypto.subtle.importKey("raw", publicKeyRaw as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, true, [
    "verify",
  ]);
}

/** Sign a statement into an envelope */
export async function signEnvelope(payloadType: string, statement: unknown, signer: Signer): Promise<Envelope> {
  const body = enc.encode(canonicalJson(statement));
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, signer.privateKey, pae(payloadType, body) as Uint8Array<ArrayBuffer>),
  );
  return { payloadType, payload: toBase64(body), signatures: [{ keyid: signer.keyid, sig: toBase64(sig) }] };
}

/**
 * Read the statement of an envelope without verifying it: only for choosing what to sign next
 * (a seq), never for a trust decision.
 */
export function peekStatement(envelope: Envelope | undefined): Record<string, unknown> | undefined {
  if (!envelope) return undefined;
  try {
    const value = JSON.parse(new TextDecoder().decode(fromBase64(envelope.payload)));
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Check the shape of an untrusted envelope */
export function parseEnvelope(value: unknown): Envelope {
  const e = value as Envelope;
  if (
    typeof e !== "object" || e === null || typeof e.payloadType !== "string" || typeof e.payload !== "string" ||
    !Array.isArray(e.signatures) || e.signatures.length === 0 || e.signatures.length > 8 ||
    !e.signatures.every((s) => typeof s?.keyid === "string" && typeof s?.sig === "string")
  ) {
    throw new TrustError("Invalid signature envelope: expected { payloadType, payload, signatures[] }");
  }
  if (e.payload.length > (MAX_ENVELOPE_PAYLOAD_BYTES * 4) / 3 + 4) {
    throw new TrustError(`Refusing signed payload over ${MAX_ENVELOPE_PAYLOAD_BYTES} bytes`);
  }
  return e;
}

/**
 * Verify an envelope made by the key `publicKeyRaw` and return its statement.
 * @throws {TrustError} for a wrong payload type, an unknown key id, a bad signature or an oversized payload
 */
export async function verifyEnvelope<T>(
  envelope: Envelope,
  expectedType: string,
  publicKeyRaw: Uint8Array,
): Promise<{ statement: T; keyid: string }> {
  const e = parseEnvelope(envelope);
  if (e.payloadType !== expectedType) {
    throw new TrustError(`Refusing signature: payload type "${e.payloadType}", expected "${expectedType}"`);
  }
  const keyid = fingerprint(publicKeyRaw);
  const entry = e.signatures.find((s) => s.keyid === keyid);
  if (!entry) {
    throw new TrustError(
      `Refusing signature: made by unknown key ${e.signatures.map((s) => s.keyid).join(", ")}, expected ${keyid}`,
    );
  }
  const body = fromBase64(e.payload);
  if (body.byteLength > MAX_ENVELOPE_PAYLOAD_BYTES) {
    throw new TrustError(`Refusing signed payload over ${MAX_ENVELOPE_PAYLOAD_BYTES} bytes`);
  }
  const key = await importPublicKey(publicKeyRaw);
  const ok = await crypto.subtle.verify(
    { name: "Ed25519" },
    key,
    fromBase64(entry.sig) as Uint8Array<ArrayBuffer>,
    pae(e.payloadType, body) as Uint8Array<ArrayBuffer>,
  );
  if (!ok) throw new TrustError(`Refusing signature by ${keyid}: it does not verify`);
  try {
    return { statement: JSON.parse(new TextDecoder().decode(body)) as T, keyid };
  } catch {
    throw new TrustError("Refusing signed payload: not JSON");
  }
}

/**
 * Check that a publish statement names exactly this version (defeats mix-and-match).
 * @throws {TrustError}
 */
export function checkPublishStatement(
  s: PublishStatement,
  v: { id: string; version: string; sha256: string; size: number; dependencies: Record<string, string> },
): void {
  if (
    s.type !== "ggen.publish/1" || s.package_id !== v.id || s.version !== v.version || s.sha256 !== v.sha256 ||
    s.size !== v.size || !Number.isSafeInteger(s.seq) || s.seq < 1
  ) {
    throw new TrustError(
      `Refusing "${v.id}@${v.version}": its signature is for "${s.package_id}@${s.version}" (sha256 ${
        String(s.sha256).slice(0, 12)
      }…), not this package`,
    );
  }
  if (
    typeof s.dependencies !== "object" || s.dependencies === null ||
    canonicalJson(s.dependencies) !== canonicalJson(v.dependencies)
  ) {
    throw new TrustError(
      `Refusing "${v.id}@${v.version}": its dependencies differ from the ones its publisher signed`,
    );
  }
}
