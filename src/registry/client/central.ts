/**
 * The central registry over HTTP. Timeouts are retried with backoff; 5xx, refused connections,
 * DNS and TLS failures become `UnavailableError` at once so the hybrid registry falls back fast.
 * @module
 */
import {
  type AbortOptions,
  apiPaths,
  type Envelope,
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
  type Registry,
  type RegistryKeyResponse,
  type SearchHit,
  type SearchQuery,
  SHA256_HEADER,
  SIGNATURE_HEADER,
  type TarballStream,
  toBase64,
  UnavailableError,
} from "../../core/mod.ts";
import { HttpSource, type HttpSourceInit, MAX_SMALL_BYTES, readJsonLimited } from "./http_source.ts";

/** Options for {@link createCentralRegistry} */
export interface CentralRegistryInit extends HttpSourceInit {
  /** Bearer token (secret) */
  token?: string;
}

/** The central registry client */
export interface CentralRegistry extends Registry, Publisher {
  /** Base URL */
  readonly url: string;
  /** Yank or unyank with a {@link YankStatement} signed by an owner */
  setYanked(id: string, version: string, yanked: boolean, envelope: Envelope, options?: AbortOptions): Promise<void>;
  /** The registry's own public key, as it announces it */
  registryKey(options?: AbortOptions): Promise<RegistryKeyResponse>;
  /**
   * Throw a ConfigError naming `what` when this source cannot be written (a static index), so a
   * command refuses before it touches a key
   */
  assertWritable(what: string): void;
  /** Send an owner change signed by a current owner */
  changeOwners(id: string, envelope: Envelope, options?: AbortOptions): Promise<OwnerKey[]>;
  /** Current owners and the owner log */
  owners(id: string, options?: AbortOptions): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }>;
}

/** Largest search answer a client reads */
const MAX_SEARCH_BYTES = 1024 * 1024;

/** Create a client of the central registry at `init.url` */
export function createCentralRegistry(components: { logger: Logger }, init: CentralRegistryInit): CentralRegistry {
  return new HttpCentralRegistry(components, init);
}

class HttpCentralRegistry implements CentralRegistry {
  readonly name = "central";
  readonly url: string;
  #init: CentralRegistryInit;
  #http: HttpSource;

  constructor(components: { logger: Logger }, init: CentralRegistryInit) {
    this.#init = init;
    this.#http = new HttpSource(components.logger.child("central"), init, "Central registry");
    this.url = this.#http.url;
  }

  async search(query: SearchQuery, options: AbortOptions = {}): Promise<SearchHit[]> {
    const res = await this.#http.request(apiPaths.search(query.text, query.limit ?? 20, query.offset ?? 0), options);
    return parseSearchResponse(
      await this.#http.json(readJsonLimited(res, MAX_SEARCH_BYTES, "search results"), "search"),
    )
      .hits;
  }

  async info(id: string, options: AbortOptions = {}): Promise<PackageInfo> {
    const res = await this.#http.request(apiPaths.package(id), options);
    const body = await this.#http.json(readJsonLimited(res, MAX_METADATA_BYTES, `metadata of "${id}"`), "metadata");
    return { ...this.#http.check(() => parsePackageInfo(body, id), "metadata"), source: "central" };
  }

  assertWritable(): void {}

  async registryKey(options: AbortOptions = {}): Promise<RegistryKeyResponse> {
    const res = await this.#http.request(apiPaths.registryKey(), options);
    const body = await this.#http.json(readJsonLimited(res, MAX_SMALL_BYTES, "registry key"), "registry key");
    return this.#http.check(() => parseRegistryKey(body), "registry key");
  }

  async owners(id: string, options: AbortOptions = {}): Promise<{ owners: OwnerKey[]; owner_log: Envelope[] }> {
    const res = await this.#http.request(apiPaths.owners(id), options);
    const body = await this.#http.json(readJsonLimited(res, MAX_METADATA_BYTES, `owners of "${id}"`), "owners");
    return this.#http.check(() => parseOwnersResponse(body), "owners");
  }

  async changeOwners(id: string, envelope: Envelope, options: AbortOptions = {}): Promise<OwnerKey[]> {
    const res = await this.#postEnvelope(apiPaths.owners(id), envelope, options);
    const body = await this.#http.json(readJsonLimited(res, MAX_METADATA_BYTES, `owners of "${id}"`), "owners");
    return this.#http.check(() => parseOwnersResponse(body), "owners").owners;
  }

  async open(version: PackageVersion, options: OpenOptions = {}): Promise<TarballStream> {
    if (options.exclude?.has("central")) {
      throw new NotFoundError(
        `Central registry ${this.url} already sent bad bytes for "${version.id}@${version.version}"`,
      );
    }
    const res = await this.#http.request(apiPaths.blob(version.sha256), options);
    if (!res.body) throw new UnavailableError(`Central registry sent no body for ${version.id}@${version.version}`);
    return { body: res.body, source: "central" };
  }

  async publish(tarball: Uint8Array, version: PackageVersion, options: AbortOptions = {}): Promise<PackageVersion> {
    const res = await this.#http.request(apiPaths.version(version.id, version.version), {
      method: "PUT",
      body: tarball as Uint8Array<ArrayBuffer>,
      headers: {
        "content-type": "application/gzip",
        [SHA256_HEADER]: version.sha256,
        ...(version.signature
          ? { [SIGNATURE_HEADER]: toBase64(new TextEncoder().encode(JSON.stringify(version.signature))) }
          : {}),
        ...(version.publisher_key ? { [PUBLIC_KEY_HEADER]: version.publisher_key } : {}),
        ...this.#authorization(),
      },
      ...options,
    });
    const body = await this.#http.json(readJsonLimited(res, MAX_METADATA_BYTES, "publish answer"), "publish answer");
    return this.#http.check(() => parsePackageVersion(body, "publish answer", version.id), "publish answer");
  }

  async setYanked(
    id: string,
    version: string,
    yanked: boolean,
    envelope: Envelope,
    options: AbortOptions = {},
  ): Promise<void> {
    const path = yanked ? apiPaths.yank(id, version) : apiPaths.unyank(id, version);
    const res = await this.#postEnvelope(path, envelope, options);
    await res.body?.cancel();
  }

  /** The bearer token's header, for the calls that change the registry */
  #authorization(): Record<string, string> {
    return this.#init.token ? { authorization: `Bearer ${this.#init.token}` } : {};
  }

  /** POST a signed request (owner change, yank) with the token */
  #postEnvelope(path: string, envelope: Envelope, options: AbortOptions): Promise<Response> {
    return this.#http.request(path, {
      method: "POST",
      body: JSON.stringify(envelope),
      headers: { "content-type": "application/json", ...this.#authorization() },
      ...options,
    });
  }
}
