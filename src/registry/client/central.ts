/**
 * The central registry over HTTP. Timeouts are retried with backoff; 5xx, refused connections,
 * DNS and TLS failures become `UnavailableError` at once so the hybrid registry falls back fast.
 * @module
 */
import {
  type AbortOptions,
  apiPaths,
  CENTRAL_RETRY_BACKOFF_MS,
  CENTRAL_TIMEOUT_RETRIES,
  DEFAULT_HTTP_TIMEOUT_MS,
  type Envelope,
  errorFromName,
  type ErrorResponse,
  type Logger,
  MAX_METADATA_BYTES,
  NotFoundError,
  type OpenOptions,
  type OwnerKey,
  type PackageInfo,
  type PackageVersion,
  parseOwnersResponse,
  parsePackageInfo,
  parsePackageVersion,
  parseRegistryKey,
  parseSearchResponse,
  PUBLIC_KEY_HEADER,
  type Publisher,
  readAllLimited,
  type Registry,
  type RegistryKeyResponse,
  type SearchHit,
  type SearchQuery,
  SHA256_HEADER,
  SIGNATURE_HEADER,
  type TarballStream,
  toBase64,
  TrustError,
  UnavailableError,
  ValidationError,
} from "../../core/mod.ts";
import { type AddressBook, fetchAtAddress, resolveHost } from "./last_address.ts";

/** Options for {@link createCentralRegistry} */
export interface CentralRegistryInit {
  /** Base URL */
  url: string;
  /** Bearer token (secret) */
  token?: string;
  /** Per-attempt timeout. @default DEFAULT_HTTP_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default CENTRAL_TIMEOUT_RETRIES */
  /** Retries of a timed-out request */
  retries?: number;
  /** @default CENTRAL_RETRY_BACKOFF_MS */
  /** First backoff between retries; doubles each time */
  backoffMs?: number;
  /**
   * Where the registry's host name last resolved: with it, a DNS failure is retried once at
   * that address (design §5.1). Without it, a DNS failure is final
   */
  addresses?: AddressBook;
}

/** The central registry client */
export interface CentralRegistry extends Registry, Publisher {
  /** Base URL */
  readonly url: string;
  /** Yank or unyank with a {@link YankStatement} signed by an owner */
  setYanked(id: string, version: string, yanked: boolean, envelope: Envelope, options?: AbortOptions): Promise<void>;
  /** The registry's own public key, as it announces it */
  registryKey(options?: AbortOptions): Promise<RegistryKeyResponse>;
  /** Send an owner change signed by a current owner */
  changeOwners(id: string, envelope: Envelope, options?: AbortOptions): Promise<OwnerKey[]>;
  /** Current owners and the owner log */
  owners(id: string, options?: AbortOptions): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }>;
}

/** Largest search answer a client reads */
const MAX_SEARCH_BYTES = 1024 * 1024;
/** Largest error body, registry key or owners answer a client reads */
const MAX_SMALL_BYTES = 64 * 1024;
/** Most same-origin redirects followed for one request */
const MAX_REDIRECTS = 5;

/** Read a JSON body of at most `limit` bytes (defeats endless data) */
async function readJsonLimited(res: Response, limit: number, what: string): Promise<unknown> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new TrustError(`Refusing ${what}: ${declared} bytes is over the ${limit}-byte limit`);
  }
  if (!res.body) throw new ValidationError(`Refusing ${what}: the answer has no body`);
  const all = await readAllLimited(res.body, {
    limit,
    tooLarge: () => new TrustError(`Refusing ${what}: more than the ${limit}-byte limit`),
  });
  try {
    return JSON.parse(new TextDecoder().decode(all));
  } catch (err) {
    throw new ValidationError(`Refusing ${what}: not JSON`, { cause: err });
  }
}

/** Create a client of the central registry at `init.url` */
export function createCentralRegistry(components: { logger: Logger }, init: CentralRegistryInit): CentralRegistry {
  return new HttpCentralRegistry(components, init);
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}

class HttpCentralRegistry implements CentralRegistry {
  readonly name = "central";
  readonly url: string;
  #init: CentralRegistryInit;
  #log: Logger;
  /** Whether this process has recorded where the host resolves */
  #addressNoted = false;

  constructor(components: { logger: Logger }, init: CentralRegistryInit) {
    this.url = init.url.replace(/\/+$/, "");
    this.#init = init;
    this.#log = components.logger.child("central");
  }

  /** One request with the retry policy; returns a response with a 2xx status */
  async #request(path: string, init: RequestInit & AbortOptions = {}): Promise<Response> {
    const retries = this.#init.retries ?? CENTRAL_TIMEOUT_RETRIES;
    const timeout = this.#init.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    let backoff = this.#init.backoffMs ?? CENTRAL_RETRY_BACKOFF_MS;
    for (let attempt = 0;; attempt++) {
      init.signal?.throwIfAborted();
      const signals = [AbortSignal.timeout(timeout), ...(init.signal ? [init.signal] : [])];
      let res: Response;
      try {
        res = await this.#fetchFollowingSameOrigin(this.url + path, { ...init, signal: AbortSignal.any(signals) });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (err instanceof TrustError) throw err;
        if (isTimeout(err) && attempt < retries) {
          this.#log.debug(`${path}: timed out after ${timeout} ms, retry ${attempt + 1}/${retries} in ${backoff} ms`);
          await new Promise((r) => setTimeout(r, backoff));
          backoff *= 2;
          continue;
        }
        // "fetch failed" alone says nothing: the cause says DNS, refused, TLS…
        const cause = (err as Error).cause instanceof Error ? `: ${((err as Error).cause as Error).message}` : "";
        const why = isTimeout(err) ? `timed out ${attempt + 1} times` : `${(err as Error).message}${cause}`;
        throw new UnavailableError(
          `Cannot reach central registry ${this.url}: ${why} (set it with --registry URL, GGEN_REGISTRY or ` +
            "[registry] central_url)",
          { cause: err },
        );
      }
      if (res.ok) return res;
      let body: Partial<ErrorResponse> | undefined;
      try {
        body = await readJsonLimited(res, MAX_SMALL_BYTES, "error answer") as Partial<ErrorResponse>;
      } catch {
        // not our JSON: a proxy or another server
        await res.body?.cancel().catch(() => {});
      }
      const code = typeof body?.code === "string" ? body.code : undefined;
      const message = typeof body?.message === "string" ? body.message.slice(0, 2000) : undefined;
      if (res.status >= 500 || !code) {
        throw new UnavailableError(
          `Central registry ${this.url} answered ${res.status}${message ? `: ${message}` : ""}`,
        );
      }
      throw errorFromName({ name: code, message: message ?? `Central registry answered ${res.status}` });
    }
  }

  /**
   * fetch with redirects followed only within the registry's origin: a registry cannot send the
   * client (and its token) to another host.
   */
  async #fetchFollowingSameOrigin(url: string, init: RequestInit): Promise<Response> {
    const origin = new URL(this.url).origin;
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await this.#fetchOnce(current, { ...init, redirect: "manual" });
      if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get("location");
      if (!location) return res;
      const next = new URL(location, current);
      if (next.origin !== origin) {
        throw new TrustError(
          `Refusing a redirect from central registry ${this.url} to another origin (${next.origin}); ` +
            "set [registry] central_url to the registry's real address",
        );
      }
      current = next.href;
    }
    throw new UnavailableError(`Central registry ${this.url} redirected more than ${MAX_REDIRECTS} times`);
  }

  /** One fetch; a GET whose host name does not resolve goes to the last address that answered */
  async #fetchOnce(url: string, init: RequestInit): Promise<Response> {
    const book = this.#init.addresses;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    try {
      const res = await fetch(url, init);
      if (book && !this.#addressNoted) {
        this.#addressNoted = true;
        void resolveHost(host).then((address) => address && book.remember(host, address));
      }
      return res;
    } catch (err) {
      const method = (init.method ?? "GET").toUpperCase();
      const last = book?.get(host);
      if (!last || isTimeout(err) || init.signal?.aborted || (method !== "GET" && method !== "HEAD")) throw err;
      // Refused, reset or TLS: the name resolved, so the failure is the registry's own
      if (await resolveHost(host) !== undefined) throw err;
      this.#log.warn(`${host} does not resolve: trying ${last}, where it answered before`);
      return await fetchAtAddress(url, init, last);
    }
  }

  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
    const res = await this.#request(apiPaths.search(query.text, query.limit ?? 20, query.offset ?? 0), options);
    return parseSearchResponse(await this.#json(readJsonLimited(res, MAX_SEARCH_BYTES, "search results"), "search"))
      .hits;
  }

  /** A body that does not arrive means a broken connection or proxy: the registry is unavailable */
  async #json(body: Promise<unknown>, what: string): Promise<unknown> {
    try {
      return await body;
    } catch (err) {
      if (err instanceof TrustError || err instanceof ValidationError) throw this.#hostile(err, what);
      throw new UnavailableError(`Central registry ${this.url} sent broken ${what}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  #hostile(err: Error, what: string): Error {
    const Cls = err instanceof TrustError ? TrustError : ValidationError;
    return new Cls(`Central registry ${this.url} sent invalid ${what}: ${err.message}`, { cause: err });
  }

  #check<T>(parse: () => T, what: string): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof ValidationError) throw this.#hostile(err, what);
      throw err;
    }
  }

  async info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
    const res = await this.#request(apiPaths.package(id), options);
    const body = await this.#json(readJsonLimited(res, MAX_METADATA_BYTES, `metadata of "${id}"`), "metadata");
    return { ...this.#check(() => parsePackageInfo(body, id), "metadata"), source: "central" };
  }

  async registryKey(options: AbortOptions = {}): Promise<RegistryKeyResponse> {
    const res = await this.#request(apiPaths.registryKey(), options);
    const body = await this.#json(readJsonLimited(res, MAX_SMALL_BYTES, "registry key"), "registry key");
    return this.#check(() => parseRegistryKey(body), "registry key");
  }

  async owners(id: string, options: AbortOptions = {}): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }> {
    const res = await this.#request(apiPaths.owners(id), options);
    const body = await this.#json(readJsonLimited(res, MAX_METADATA_BYTES, `owners of "${id}"`), "owners");
    return this.#check(() => parseOwnersResponse(body), "owners");
  }

  async changeOwners(id: string, envelope: Envelope, options: AbortOptions = {}): Promise<OwnerKey[]> {
    const res = await this.#request(apiPaths.owners(id), {
      method: "POST",
      body: JSON.stringify(envelope),
      headers: {
        "content-type": "application/json",
        ...(this.#init.token ? { authorization: `Bearer ${this.#init.token}` } : {}),
      },
      ...options,
    });
    const body = await this.#json(readJsonLimited(res, MAX_METADATA_BYTES, `owners of "${id}"`), "owners");
    return this.#check(() => parseOwnersResponse(body), "owners").owners;
  }

  async open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
    if (options.exclude?.has("central")) {
      throw new NotFoundError(
        `Central registry ${this.url} already sent bad bytes for "${version.id}@${version.version}"`,
      );
    }
    const res = await this.#request(apiPaths.blob(version.sha256), options);
    if (!res.body) throw new UnavailableError(`Central registry sent no body for ${version.id}@${version.version}`);
    return { body: res.body, source: "central" };
  }

  async publish(tarball: Uint8Array, version: PackageVersion, options: AbortOptions = {}): Promise<PackageVersion> {
    const res = await this.#request(apiPaths.version(version.id, version.version), {
      method: "PUT",
      body: tarball as Uint8Array<ArrayBuffer>,
      headers: {
        "content-type": "application/gzip",
        [SHA256_HEADER]: version.sha256,
        ...(version.signature
          ? { [SIGNATURE_HEADER]: toBase64(new TextEncoder().encode(JSON.stringify(version.signature))) }
          : {}),
        ...(version.publisher_key ? { [PUBLIC_KEY_HEADER]: version.publisher_key } : {}),
        ...(this.#init.token ? { authorization: `Bearer ${this.#init.token}` } : {}),
      },
      ...options,
    });
    const body = await this.#json(readJsonLimited(res, MAX_METADATA_BYTES, "publish answer"), "publish answer");
    return this.#check(() => parsePackageVersion(body, "publish answer", version.id), "publish answer");
  }

  async setYanked(
    id: string,
    version: string,
    yanked: boolean,
    envelope: Envelope,
    options: AbortOptions = {},
  ): Promise<void> {
    const path = yanked ? apiPaths.yank(id, version) : apiPaths.unyank(id, version);
    const res = await this.#request(path, {
      method: "POST",
      body: JSON.stringify(envelope),
      headers: {
        "content-type": "application/json",
        ...(this.#init.token ? { authorization: `Bearer ${this.#init.token}` } : {}),
      },
      ...options,
    });
    await res.body?.cancel();
  }
}
