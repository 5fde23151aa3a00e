/**
 * The HTTP transport of a central source (the registry's API, or a static index.json on a web
 * server): per-attempt timeout, timed-out requests retried with backoff, redirects followed only
 * within the first URL's origin, a DNS failure retried at the last address that answered, and
 * failures sorted into `UnavailableError` (fall back at once), `TrustError` and `ValidationError`
 * (hostile answers) and the registry's own typed errors.
 * @module
 */
import {
  type AbortOptions,
  CENTRAL_RETRY_BACKOFF_MS,
  CENTRAL_TIMEOUT_RETRIES,
  DEFAULT_HTTP_TIMEOUT_MS,
  errorFromName,
  type ErrorResponse,
  type Logger,
  readAllLimited,
  TrustError,
  UnavailableError,
  ValidationError,
} from "../../core/mod.ts";
import { type AddressBook, fetchAtAddress, resolveHost } from "./last_address.ts";

/** Options of {@link HttpSource} */
export interface HttpSourceInit {
  /** Base URL: paths are resolved against it, redirects stay within its origin */
  url: string;
  /** Per-attempt timeout. @default DEFAULT_HTTP_TIMEOUT_MS */
  timeoutMs?: number;
  /** Retries of a timed-out request. @default CENTRAL_TIMEOUT_RETRIES */
  retries?: number;
  /** First backoff between retries; doubles each time. @default CENTRAL_RETRY_BACKOFF_MS */
  backoffMs?: number;
  /**
   * Where the host name last resolved: with it, a DNS failure is retried once at that address
   * (design §5.1). Without it, a DNS failure is final
   */
  addresses?: AddressBook;
}

/** Largest error body a client reads */
export const MAX_SMALL_BYTES = 64 * 1024;
/** Most same-origin redirects followed for one request */
const MAX_REDIRECTS = 5;

/** Read a JSON body of at most `limit` bytes (defeats endless data) */
export async function readJsonLimited(res: Response, limit: number, what: string): Promise<unknown> {
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

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}

/** Requests to one central source; `label` names it in every error ("Central registry URL") */
export class HttpSource {
  readonly url: string;
  #init: HttpSourceInit;
  #log: Logger;
  #label: string;
  /** Whether this process has recorded where the host resolves */
  #addressNoted = false;

  constructor(logger: Logger, init: HttpSourceInit, label: string) {
    this.url = init.url.replace(/\/+$/, "");
    this.#init = init;
    this.#log = logger;
    this.#label = label;
  }

  /**
   * One request with the retry policy; returns a response with a 2xx status. `target` is a path
   * appended to the base URL, or an absolute URL (whose origin then bounds the redirects)
   */
  async request(target: string, init: RequestInit & AbortOptions = {}): Promise<Response> {
    const retries = this.#init.retries ?? CENTRAL_TIMEOUT_RETRIES;
    const timeout = this.#init.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    let backoff = this.#init.backoffMs ?? CENTRAL_RETRY_BACKOFF_MS;
    const url = /^https?:\/\//.test(target) ? target : this.url + target;
    for (let attempt = 0;; attempt++) {
      init.signal?.throwIfAborted();
      const signals = [AbortSignal.timeout(timeout), ...(init.signal ? [init.signal] : [])];
      let res: Response;
      try {
        res = await this.#fetchFollowingSameOrigin(url, { ...init, signal: AbortSignal.any(signals) });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (err instanceof TrustError) throw err;
        if (isTimeout(err) && attempt < retries) {
          this.#log.debug(`${target}: timed out after ${timeout} ms, retry ${attempt + 1}/${retries} in ${backoff} ms`);
          await new Promise((r) => setTimeout(r, backoff));
          backoff *= 2;
          continue;
        }
        // "fetch failed" alone says nothing: the cause says DNS, refused, TLS…
        const cause = (err as Error).cause instanceof Error ? `: ${((err as Error).cause as Error).message}` : "";
        const why = isTimeout(err) ? `timed out ${attempt + 1} times` : `${(err as Error).message}${cause}`;
        throw new UnavailableError(
          `Cannot reach ${this.#label.toLowerCase()} ${this.url}: ${why} (set it with --registry URL, GGEN_REGISTRY or ` +
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
        throw new UnavailableError(`${this.#label} ${this.url} answered ${res.status}${message ? `: ${message}` : ""}`);
      }
      throw errorFromName({ name: code, message: message ?? `${this.#label} answered ${res.status}` });
    }
  }

  /**
   * fetch with redirects followed only within the first URL's origin: a registry cannot send the
   * client (and its token) to another host.
   */
  async #fetchFollowingSameOrigin(url: string, init: RequestInit): Promise<Response> {
    const origin = new URL(url).origin;
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
          `Refusing a redirect from ${this.#label.toLowerCase()} ${this.url} to another origin (${next.origin}); ` +
            "set [registry] central_url to the registry's real address",
        );
      }
      current = next.href;
    }
    throw new UnavailableError(`${this.#label} ${this.url} redirected more than ${MAX_REDIRECTS} times`);
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

  /** A body that does not arrive means a broken connection or proxy: the source is unavailable */
  async json(body: Promise<unknown>, what: string): Promise<unknown> {
    try {
      return await body;
    } catch (err) {
      if (err instanceof TrustError || err instanceof ValidationError) throw this.#hostile(err, what);
      throw new UnavailableError(`${this.#label} ${this.url} sent broken ${what}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  #hostile(err: Error, what: string): Error {
    const Cls = err instanceof TrustError ? TrustError : ValidationError;
    return new Cls(`${this.#label} ${this.url} sent invalid ${what}: ${err.message}`, { cause: err });
  }

  /** Run a parser of the source's answer; its ValidationError names the source */
  check<T>(parse: () => T, what: string): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof ValidationError) throw this.#hostile(err, what);
      throw err;
    }
  }
}
