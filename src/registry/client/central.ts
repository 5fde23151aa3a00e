/**
 * The central registry over HTTP. Timeouts are retried with backoff; 5xx, refused connections,
 * DNS and TLS failures become `UnavailableError` at once so the hybrid registry falls back fast.
 * @module
 */
import {
  apiPaths,
  type ErrorResponse,
  MAX_METADATA_BYTES,
  PUBLIC_KEY_HEADER,
  type RegistryKeyResponse,
  type SearchResponse,
  SHA256_HEADER,
  SIGNATURE_HEADER,
} from "../../core/api.ts";
import { type Envelope, toBase64 } from "../../core/envelope.ts";
import { readAllLimited } from "../../core/bytes.ts";
import { CENTRAL_RETRY_BACKOFF_MS, CENTRAL_TIMEOUT_RETRIES, DEFAULT_HTTP_TIMEOUT_MS } from "../../core/constants.ts";
import { errorFromName, NotFoundError, TrustError, UnavailableError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { OwnerKey, PackageInfo, PackageVersion, SearchHit, SearchQuery } from "../../core/package.ts";
import type { AbortOptions, OpenOptions, Publisher, Registry, TarballStream } from "../../core/registry.ts";

/** Options for {@link createCentralRegistry} */
export interface CentralRegistryInit {
  url: string;
  token?: string;
  /** Per-attempt timeout. @default DEFAULT_HTTP_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default CENTRAL_TIMEOUT_RETRIES */
  retries?: number;
  /** @default CENTRAL_RETRY_BACKOFF_MS */
  backoffMs?: number;
}

/** The central registry client */
export interface CentralRegistry extends Registry, Publisher {
  readonly url: string;
  setYanked(id: string, version: string, yanked: boolean, options?: AbortOptions): Promise<void>;
  /** The registry's own public key, as it announces it */
  registryKey(options?: AbortOptions): Promise<RegistryKeyResponse>;
  /** Send an owner change signed by a current owner */
  changeOwners(id: string, envelope: Envelope, options?: AbortOptions): Promise<OwnerKey[]>;
  /** Current owners and the owner log */
  owners(id: string, options?: AbortOptions): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }>;
}

/** Read a JSON body of at most `limit` bytes (defeats endless data) */
async function readJsonLimited<T>(res: Response, limit: number, what: string): Promise<T> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new TrustError(`Refusing ${what}: ${declared} bytes is over the ${limit}-byte limit`);
  }
  const all = await readAllLimited(res.body!, {
    limit,
    tooLarge: () => new TrustError(`Refusing ${what}: more than the ${limit}-byte limit`),
  });
  return JSON.parse(new TextDecoder().decode(all)) as T;
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
        res = await fetch(this.url + path, { ...init, signal: AbortSignal.any(signals) });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (isTimeout(err) && attempt < retries) {
          this.#log.debug(`${path}: timed out after ${timeout} ms, retry ${attempt + 1}/${retries} in ${backoff} ms`);
          await new Promise((r) => setTimeout(r, backoff));
          backoff *= 2;
          continue;
        }
        const why = isTimeout(err) ? `timed out ${attempt + 1} times` : (err as Error).message;
        throw new UnavailableError(`Cannot reach central registry ${this.url}: ${why}`, { cause: err });
      }
      if (res.ok) return res;
      let body: ErrorResponse | undefined;
      try {
        body = await res.json();
      } catch {
        // not our JSON: a proxy or another server
      }
      if (res.status >= 500 || !body?.code) {
        throw new UnavailableError(
          `Central registry ${this.url} answered ${res.status}${body?.message ? `: ${body.message}` : ""}`,
        );
      }
      throw errorFromName({ name: body.code, message: body.message });
    }
  }

  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
    const res = await this.#request(apiPaths.search(query.text, query.limit ?? 20, query.offset ?? 0), options);
    return (await this.#json<SearchResponse>(res.json(), "search results")).hits;
  }

  /** A body that does not parse means a broken connection or proxy: the registry is unavailable */
  async #json<T>(body: Promise<unknown>, what: string): Promise<T> {
    try {
      return await body as T;
    } catch (err) {
      if (err instanceof TrustError) throw err;
      throw new UnavailableError(`Central registry ${this.url} sent broken ${what}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
    const res = await this.#request(apiPaths.package(id), options);
    return await this.#json<PackageInfo>(
      readJsonLimited<PackageInfo>(res, MAX_METADATA_BYTES, `metadata of "${id}"`),
      "metadata",
    );
  }

  async registryKey(options: AbortOptions = {}): Promise<RegistryKeyResponse> {
    return await (await this.#request(apiPaths.registryKey(), options)).json();
  }

  async owners(id: string, options: AbortOptions = {}): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }> {
    return await (await this.#request(apiPaths.owners(id), options)).json();
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
    return ((await res.json()) as { owners: OwnerKey[] }).owners;
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
    return await res.json();
  }

  async setYanked(id: string, version: string, yanked: boolean, options: AbortOptions = {}): Promise<void> {
    const path = yanked ? apiPaths.yank(id, version) : apiPaths.unyank(id, version);
    const res = await this.#request(path, {
      method: "POST",
      headers: this.#init.token ? { authorization: `Bearer ${this.#init.token}` } : {},
      ...options,
    });
    await res.body?.cancel();
  }
}
