/**
 * The registry interface every backend implements: central (HTTP), p2p, hybrid (fallback).
 * @module
 */
import type { PackageInfo, PackageVersion, SearchHit, SearchQuery } from "./package.ts";

/** Per-call options: cancellation */
export interface AbortOptions {
  /** Aborts the call */
  signal?: AbortSignal;
}

/** Options of {@link Registry.open} */
export interface OpenOptions extends AbortOptions {
  /** Sources (as in {@link TarballStream.source}) whose bytes were already rejected */
  exclude?: Set<string>;
}

/** A source of package metadata and bytes */
export interface Registry {
  /** "central" | "p2p" | "hybrid" | "memory" */
  readonly name: string;
  /** Ranked search results */
  search(query: SearchQuery, options?: AbortOptions): Promise<SearchHit[]>;
  /**
   * Every version of a package
   * @throws {NotFoundError} when no backend knows the id
   */
  info(id: string, options?: AbortOptions): Promise<PackageInfo>;
  /**
   * The tarball bytes of one version. Untrusted until the store checks the digest.
   * @throws {NotFoundError} when no backend has the bytes
   */
  open(version: PackageVersion, options?: OpenOptions): Promise<TarballStream>;
}

/** A tarball body with where it came from */
export interface TarballStream {
  /** The bytes as a stream */
  body: ReadableStream<Uint8Array>;
  /** e.g. "central" or "p2p:12D3Koo…" */
  source: string;
  /** Called when the store rejected the bytes, so the backend can penalise the source */
  reject?(reason: Error): void;
  /** Called when the store verified the bytes, so the backend can credit the source */
  accept?(): void;
}

/** A registry that can publish (central, and p2p without a central server) */
export interface Publisher {
  /** Publish a version */
  publish(
    tarball: Uint8Array,
    version: PackageVersion,
    options?: AbortOptions,
  ): Promise<PackageVersion>;
}

/**
 * The name a backend goes by in the hybrid registry's circuit breaker and its saved state: its
 * name, and its address when it has one (another central URL starts healthy)
 */
export function backendKey(backend: { readonly name: string; readonly url?: unknown }): string {
  // Without trailing slashes, as the HTTP clients keep their URL
  return typeof backend.url === "string" ? `${backend.name} ${backend.url.replace(/\/+$/, "")}` : backend.name;
}
