/**
 * Request handling of the central registry: search, metadata, tarballs (ETag, Range),
 * publish (bearer token, checksum, manifest, size limit) and yank.
 * @module
 */
import {
  API_PREFIX,
  assertPackageId,
  checkPublishStatement,
  ConflictError,
  contentSha256Hex,
  DEFAULT_MAX_TARBALL_BYTES,
  DEFAULT_RATE_LIMITS,
  type Envelope,
  fromBase64,
  IntegrityError,
  isSha256Hex,
  isValidVersion,
  type Logger,
  NotFoundError,
  parseEnvelope,
  PAYLOAD_TYPES,
  PUBLIC_KEY_HEADER,
  type PublishStatement,
  RateLimiter,
  type RateLimits,
  type RegistryKeyResponse,
  SECOND,
  SHA256_HEADER,
  SIGNATURE_HEADER,
  type Signer,
  toBase64,
  TrustError,
  ValidationError,
  verifyEnvelope,
  versionFromManifest,
} from "../../core/mod.ts";
import { readManifestFromArchive } from "../../archive/mod.ts";
import { authorize, validTokenRow } from "./auth.ts";
import { readBody } from "./body.ts";
import { createIndexJson } from "./index_json.ts";
import { createSignedDocuments } from "./signed_docs.ts";
import { createOwnerRoutes } from "./owner_routes.ts";
import { createRegistryPages } from "./pages.ts";
import * as semver from "semver";
import { errorResponse, json } from "./http_errors.ts";
import { createRegistryMetrics, type RegistryMetrics, routeTemplate } from "./metrics.ts";
import type { BlobStore, MetadataStore, PublishAuth } from "./storage.ts";

/** Collaborators of the handler */
export interface HandlerComponents {
  metadata: MetadataStore;
  blobs: BlobStore;
  logger: Logger;
  /** The registry's own key: signs every package metadata document */
  registryKey: Signer;
  /** Where request, publish and download figures go (served at `/metrics`) */
  metrics?: RegistryMetrics;
}

/** Paths served outside `/api/v1` (each its own route label in the metrics) */
const OUTSIDE_API = new Set(["/health", "/ready", "/metrics", "/index.json"]);

/** Limits of the handler */
export interface HandlerInit {
  /** @default DEFAULT_MAX_TARBALL_BYTES */
  /** Largest tarball accepted */
  maxTarballBytes?: number;
  /** Deadline for reading a request body. @default 30 s */
  bodyTimeoutMs?: number;
  /** Lifetime of signed metadata documents. @default 1 day */
  metadataTtlMs?: number;
  /** Rate limits. @default DEFAULT_RATE_LIMITS */
  rateLimits?: RateLimits;
  /** The URL clients reach the registry at, for /index.json's download URLs (read per request). @default relative */
  publicUrl?: string | (() => string);
}

/** Read and verify the publisher's signature headers */
async function verifyPublishSignature(
  req: Request,
  v: { id: string; version: string; sha256: string; size: number; dependencies: Record<string, string> },
): Promise<{ auth: PublishAuth; envelope: Envelope; publicKey: string }> {
  const sigHeader = req.headers.get(SIGNATURE_HEADER);
  const publicKey = req.headers.get(PUBLIC_KEY_HEADER);
  if (!sigHeader || !publicKey) {
    throw new TrustError(`Unsigned publish: send ${SIGNATURE_HEADER} and ${PUBLIC_KEY_HEADER} (ggen publish signs)`);
  }
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(JSON.parse(new TextDecoder().decode(fromBase64(sigHeader))));
  } catch (err) {
    throw new TrustError(`Invalid ${SIGNATURE_HEADER}: ${(err as Error).message}`);
  }
  const { statement, keyid } = await verifyEnvelope<PublishStatement>(
    envelope,
    PAYLOAD_TYPES.publish,
    fromBase64(publicKey),
  );
  checkPublishStatement(statement, v);
  return { auth: { keyid, publicKey, seq: statement.seq }, envelope, publicKey };
}

/** Parse a single `bytes=a-b` range; undefined for none, null for unsatisfiable */
function parseRange(header: string | null, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}

/** Create the registry's request handler */
export function createHandler(
  components: HandlerComponents,
  init: HandlerInit = {},
): (req: Request, info?: { remoteAddr: Deno.Addr }) => Promise<Response> {
  const { metadata, blobs, registryKey } = components;
  const metadataTtl = init.metadataTtlMs ?? 24 * 60 * 60 * 1000;
  const rateLimiter = new RateLimiter(init.rateLimits ?? DEFAULT_RATE_LIMITS);
  const metrics = components.metrics ?? createRegistryMetrics();
  /** Take a token, counting refusals by limit */
  const limiter = {
    take(kind: keyof RateLimits, key: string): void {
      try {
        rateLimiter.take(kind, key);
      } catch (err) {
        metrics.rateLimited(kind);
        throw err;
      }
    },
  };
  const log = components.logger.child("registry");
  const maxTarball = init.maxTarballBytes ?? DEFAULT_MAX_TARBALL_BYTES;
  const bodyTimeout = init.bodyTimeoutMs ?? 30 * SECOND;

  async function serveBlob(req: Request, sha256: string): Promise<Response> {
    const size = await blobs.size(sha256);
    if (size === undefined) throw new NotFoundError(`Blob ${sha256} not found`);
    const etag = `"${sha256}"`;
    const headers: Record<string, string> = {
      "content-type": "application/gzip",
      "etag": etag,
      "accept-ranges": "bytes",
      "cache-control": "public, max-age=31536000, immutable",
    };
    if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    const range = parseRange(req.headers.get("range"), size);
    if (range === null) {
      return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
    }
    if (req.method === "HEAD") {
      return new Response(null, { status: 200, headers: { ...headers, "content-length": String(size) } });
    }
    const body = await blobs.open(sha256, range);
    if (!body) throw new NotFoundError(`Blob ${sha256} not found`);
    metrics.downloaded(range ? range.end - range.start + 1 : size);
    if (range === undefined) {
      return new Response(body, { status: 200, headers: { ...headers, "content-length": String(size) } });
    }
    return new Response(body, {
      status: 206,
      headers: {
        ...headers,
        "content-length": String(range.end - range.start + 1),
        "content-range": `bytes ${range.start}-${range.end}/${size}`,
      },
    });
  }

  async function publish(req: Request, id: string, version: string): Promise<Response> {
    assertPackageId(id, "id");
    const existing = await metadata.getPackage(id);
    const token = await authorize(
      metadata,
      req.headers.get("authorization"),
      existing ? "publish-update" : "publish-new",
      id,
    );
    limiter.take(existing ? "newVersion" : "newPackage", token.hash);
    const claimed = req.headers.get(SHA256_HEADER) ?? "";
    if (!isSha256Hex(claimed)) throw new ValidationError(`Missing or invalid ${SHA256_HEADER} header`);
    if (!isValidVersion(version)) {
      throw new ValidationError(`Invalid version "${version.slice(0, 80)}": not semver 2.0`);
    }
    // Build metadata does not order versions (semver §10): 1.0.0+a and 1.0.0+b are one version
    const same = existing?.versions.find((v) => semver.eq(v.version, version));
    if (same) {
      throw new ConflictError(`Cannot publish "${id}@${version}": version ${same.version} already exists`);
    }
    const body = await readBody(req, maxTarball, bodyTimeout);
    const actual = await contentSha256Hex(body);
    if (actual !== claimed) {
      throw new IntegrityError(`Checksum mismatch: header says ${claimed}, body is ${actual}`);
    }
    const { manifest } = await readManifestFromArchive(body, {
      maxUnpackedBytes: Math.min(Math.max(512 * 1024 * 1024, 20 * body.byteLength), 1024 * 1024 * 1024),
    });
    if (manifest.id !== id || manifest.version !== version) {
      throw new ValidationError(
        `Manifest says "${manifest.id}@${manifest.version}" but the request is for "${id}@${version}"`,
      );
    }
    const signed = await verifyPublishSignature(req, {
      id,
      version,
      sha256: actual,
      size: body.byteLength,
      dependencies: manifest.dependencies,
    });
    const statement = JSON.parse(new TextDecoder().decode(fromBase64(signed.envelope.payload))) as PublishStatement;
    const v = {
      ...versionFromManifest(manifest, { sha256: actual, size: body.byteLength }, statement.published_at),
      signature: signed.envelope,
      publisher_key: signed.publicKey,
    };
    const hadBlob = (await blobs.size(actual)) !== undefined;
    // Blob first, row second: a crash in between leaves an unreferenced blob, never a row without one
    await blobs.put(actual, body);
    try {
      await metadata.insertVersion(v, signed.auth);
    } catch (err) {
      if (!hadBlob && !await metadata.isBlobReferenced(actual)) await blobs.delete(actual);
      throw err;
    }
    metrics.published();
    log.info(`published ${id}@${version} (${actual.slice(0, 12)}, ${body.byteLength} bytes)`);
    return json(v, 201);
  }

  const signedDocs = createSignedDocuments({ metadata, registryKey }, { ttlMs: metadataTtl });
  const owned = createOwnerRoutes({ metadata, logger: components.logger }, { bodyTimeoutMs: bodyTimeout });
  const indexJson = createIndexJson(metadata);
  const pages = createRegistryPages({ metadata, blobs, logger: components.logger });
  /** A web page (home, search, a package), rate-limited like the API's searches */
  async function servePage(req: Request, url: URL, ip: string): Promise<Response | undefined> {
    if (req.method !== "GET" && req.method !== "HEAD") return undefined;
    await takeAnonymous(req, "search", ip);
    return await pages.serve(req, url);
  }

  /** Rate-limit key of an anonymous request, or nothing for a valid token (limited per token elsewhere) */
  async function takeAnonymous(req: Request, bucket: "search" | "download", ip: string): Promise<void> {
    const token = await validTokenRow(metadata, req.headers.get("authorization"));
    // Only a token the registry knows buys its own bucket: any other header is anonymous
    limiter.take(bucket, token ? `token:${token.hash}` : ip);
  }

  /** A query parameter that must be a non-negative integer */
  function intParam(url: URL, name: string, fallback: number, max: number): number {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === "") return fallback;
    if (!/^\d{1,9}$/.test(raw)) {
      throw new ValidationError(`Invalid "${name}": expected a whole number, got "${raw.slice(0, 20)}"`);
    }
    return Math.min(Number(raw), max);
  }

  async function route(req: Request, url: URL, ip: string): Promise<Response> {
    if (!url.pathname.startsWith(API_PREFIX + "/")) throw new NotFoundError(`No route for ${url.pathname}`);
    const parts = url.pathname.slice(API_PREFIX.length + 1).split("/").map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (err) {
        throw new ValidationError(`Malformed percent-escape in "${p.slice(0, 80)}"`, { cause: err });
      }
    });
    const method = req.method;
    const [head, a, b, c] = parts;
    if (head === "health" && parts.length === 1) return json({ ok: true });
    if (head === "registry" && a === "key" && parts.length === 2) {
      return json(
        { keyid: registryKey.keyid, public_key: toBase64(registryKey.publicKeyRaw) } satisfies RegistryKeyResponse,
      );
    }
    if (head === "search" && parts.length === 1 && method === "GET") {
      await takeAnonymous(req, "search", ip);
      const limit = Math.max(intParam(url, "limit", 20, 100), 1);
      const offset = intParam(url, "offset", 0, 100_000);
      return json(await metadata.search(url.searchParams.get("q") ?? "", limit, offset));
    }
    if (head === "blobs" && a && parts.length === 2 && (method === "GET" || method === "HEAD")) {
      await takeAnonymous(req, "download", ip);
      if (!isSha256Hex(a)) throw new ValidationError(`Invalid sha256 "${a}"`);
      return await serveBlob(req, a);
    }
    if (head === "packages" && a) {
      if (parts.length === 2 && method === "GET") {
        const body = await signedDocs.body(a);
        if (body === undefined) throw new NotFoundError(`Package "${a}" not found`);
        return new Response(body, { headers: { "content-type": "application/json" } });
      }
      if (b === "owners" && parts.length === 3) {
        if (method === "GET") {
          return json({ owners: await metadata.getOwners(a), owner_log: await metadata.getOwnerLog(a) });
        }
        if (method === "POST") return await owned.changeOwners(req, a);
      }
      if (b && parts.length === 3) {
        if (method === "GET") {
          const v = await metadata.getVersion(a, b);
          if (!v) throw new NotFoundError(`Package "${a}@${b}" not found`);
          return json(v);
        }
        if (method === "PUT") return await publish(req, a, b);
      }
      if (b && parts.length === 4 && c === "tarball" && (method === "GET" || method === "HEAD")) {
        await takeAnonymous(req, "download", ip);
        const v = await metadata.getVersion(a, b);
        if (!v) throw new NotFoundError(`Package "${a}@${b}" not found`);
        return await serveBlob(req, v.sha256);
      }
      if (b && parts.length === 4 && (c === "yank" || c === "unyank") && method === "POST") {
        return await owned.setYanked(req, a, b, c === "yank");
      }
    }
    throw new NotFoundError(`No route for ${method} ${url.pathname}`);
  }

  /** Endpoints outside the API: liveness, readiness, metrics, and ggen's index.json */
  async function operate(req: Request, url: URL, ip: string): Promise<Response | undefined> {
    const pathname = url.pathname;
    if (pathname === "/index.json") {
      await takeAnonymous(req, "download", ip);
      const base = typeof init.publicUrl === "function" ? init.publicUrl() : init.publicUrl ?? "";
      const res = json(await indexJson(base));
      res.headers.set("cache-control", "public, max-age=60");
      return res;
    }
    if (pathname === "/health") return json({ ok: true });
    if (pathname === "/ready") {
      // Both stores answer a cheap question, or the instance is taken out of rotation
      const checks: Record<string, string> = {};
      try {
        await metadata.packageSeq("io.ggen.ready-check");
        checks.database = "ok";
      } catch (err) {
        checks.database = (err as Error).message;
      }
      try {
        await blobs.check();
        checks.blobs = "ok";
      } catch (err) {
        checks.blobs = (err as Error).message;
      }
      const ready = Object.values(checks).every((c) => c === "ok");
      if (!ready) metrics.storageError();
      return json({ ready, checks }, ready ? 200 : 503);
    }
    if (pathname === "/metrics") {
      const { body, contentType } = await metrics.render();
      return new Response(body, { headers: { "content-type": contentType } });
    }
    return undefined;
  }

  return async (req: Request, info?: { remoteAddr: Deno.Addr }): Promise<Response> => {
    const started = performance.now();
    const url = new URL(req.url);
    // The client's address comes from the socket, never from a header a client could send
    const ip = info?.remoteAddr.transport === "tcp" ? (info.remoteAddr as Deno.NetAddr).hostname : "local";
    let res: Response;
    const template = url.pathname.startsWith(API_PREFIX + "/")
      ? routeTemplate(url.pathname.slice(API_PREFIX.length + 1).split("/"))
      : OUTSIDE_API.has(url.pathname)
      ? url.pathname
      : "page";
    try {
      res = (req.method === "GET" && OUTSIDE_API.has(url.pathname) ? await operate(req, url, ip) : undefined) ??
        (template === "page" ? await servePage(req, url, ip) : undefined) ??
        await route(req, url, ip);
    } catch (err) {
      if (!(err instanceof Error) || !err.name.endsWith("Error") || err.name === "Error") {
        log.error(String(err));
        metrics.storageError();
      }
      res = errorResponse(err);
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.request(template, req.method, res.status, seconds);
    log.debug(`${req.method} ${url.pathname} ${res.status} ${(seconds * 1000).toFixed(1)}ms`);
    return res;
  };
}
