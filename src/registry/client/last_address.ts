/**
 * Design §5.1, DNS failure: a registry whose name no longer resolves (a broken resolver, a
 * captive network) is tried once more at the last address that answered for that name, with
 * the certificate still checked against the name; otherwise the failure stands and the hybrid
 * registry falls back. Deno's fetch has no resolver override, so that one retry goes through
 * node:http(s) with a pinned `lookup` (the TLS server name stays the host name).
 * @module
 */
import type { LookupFunction } from "node:net";
import { parseIP } from "@chainsafe/is-ip/parse";

// node:http(s), tls, stream and dns load only when used: every CLI start would otherwise pay for
// them (about 50 ms together in the single-file build, measured), and the pinned retry is rare

/** fetch trusts DENO_CERT besides the system roots; the pinned retry trusts the same */
async function extraCa(): Promise<string[] | undefined> {
  try {
    const file = Deno.env.get("DENO_CERT");
    if (!file) return undefined;
    const { rootCertificates } = await import("node:tls");
    return [...rootCertificates, Deno.readTextFileSync(file)];
  } catch {
    return undefined;
  }
}

/** Where the central registry's host names last resolved (persisted by the CLI) */
export interface AddressBook {
  /** The address `host` last resolved to, if known */
  get(host: string): string | undefined;
  /** `host` resolved to `address` while the registry answered */
  remember(host: string, address: string): void;
}

/** How long a name may take to resolve before it counts as a DNS failure (§5.1) */
export const DNS_FAILURE_MS = 2000;

/** The first address `host` resolves to, or undefined when resolution fails within `timeoutMs` */
export async function resolveHost(host: string, timeoutMs = DNS_FAILURE_MS): Promise<string | undefined> {
  if (parseIP(host)) return host;
  const { lookup } = await import("node:dns/promises");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), timeoutMs));
  try {
    return await Promise.race([lookup(host).then((a) => a.address, () => undefined), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET or HEAD `url` connecting to `address` instead of resolving its host; TLS verifies the
 * certificate against the host name as usual
 */
export async function fetchAtAddress(url: string, init: RequestInit, address: string): Promise<Response> {
  const target = new URL(url);
  const tls = target.protocol === "https:";
  const client = tls ? (await import("node:https")).default : (await import("node:http")).default;
  const { Readable } = await import("node:stream");
  const { isIP } = await import("node:net");
  const ca = tls ? await extraCa() : undefined;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => headers[key] = value);
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: init.method ?? "GET",
        headers,
        signal: init.signal ?? undefined,
        ...(ca ? { ca } : {}),
        lookup: ((_host, options, callback) => {
          const family = isIP(address);
          if (options.all) callback(null, [{ address, family }]);
          else callback(null, address, family);
        }) as LookupFunction,
      },
      (res) => {
        const responseHeaders = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(key, v);
        }
        const status = res.statusCode ?? 502;
        const body = status === 204 || status === 304 || init.method === "HEAD"
          ? null
          : Readable.toWeb(res) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status, headers: responseHeaders }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
