/**
 * The registry's Prometheus metrics (`GET /metrics`, text format 0.0.4) with prom-client: requests
 * by route and status, latency histograms by route, publishes, downloads and their bytes,
 * rate-limit refusals and storage errors. One registry per server, so two servers in one process
 * (tests) never share counters. Route labels are templates (`/packages/:id`), never raw paths.
 * @module
 */
import client from "prom-client";

/** The metrics one registry server keeps */
export interface RegistryMetrics {
  /** Record one answered request */
  request(route: string, method: string, status: number, seconds: number): void;
  published(): void;
  downloaded(bytes: number): void;
  rateLimited(kind: string): void;
  storageError(): void;
  /** The exposition text and its content type */
  render(): Promise<{ body: string; contentType: string }>;
}

/** Create the metrics of one server */
export function createRegistryMetrics(): RegistryMetrics {
  const registry = new client.Registry();
  const registers = [registry];
  const requests = new client.Counter({
    name: "ggen_registry_http_requests_total",
    help: "HTTP requests answered, by route template, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const latency = new client.Histogram({
    name: "ggen_registry_http_request_duration_seconds",
    help: "Time to answer a request (headers sent), by route template",
    labelNames: ["route"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  });
  const publishes = new client.Counter({
    name: "ggen_registry_publishes_total",
    help: "Versions published",
    registers,
  });
  const downloads = new client.Counter({
    name: "ggen_registry_downloads_total",
    help: "Tarball and blob downloads started",
    registers,
  });
  const downloadBytes = new client.Counter({
    name: "ggen_registry_download_bytes_total",
    help: "Bytes of tarballs and blobs sent (as requested: full or ranged)",
    registers,
  });
  const limited = new client.Counter({
    name: "ggen_registry_rate_limited_total",
    help: "Requests refused by a rate limit, by limit",
    labelNames: ["limit"] as const,
    registers,
  });
  const storageErrors = new client.Counter({
    name: "ggen_registry_storage_errors_total",
    help: "Requests that failed in the database or the blob store",
    registers,
  });
  return {
    request(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route }, seconds);
    },
    published: () => publishes.inc(),
    downloaded(bytes) {
      downloads.inc();
      downloadBytes.inc(bytes);
    },
    rateLimited: (kind) => limited.inc({ limit: kind }),
    storageError: () => storageErrors.inc(),
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}

/** The route template of an API path's parts (after `/api/v1/`), for labels */
export function routeTemplate(parts: string[]): string {
  const [head, , b, c] = parts;
  switch (head) {
    case "health":
    case "search":
      return `/${head}`;
    case "registry":
      return "/registry/key";
    case "blobs":
      return "/blobs/:sha256";
    case "packages":
      if (parts.length === 2) return "/packages/:id";
      if (b === "owners") return "/packages/:id/owners";
      if (parts.length === 3) return "/packages/:id/:version";
      if (c === "tarball") return "/packages/:id/:version/tarball";
      if (c === "yank" || c === "unyank") return `/packages/:id/:version/${c}`;
  }
  return "other";
}
