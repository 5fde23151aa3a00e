/**
 * The daemon's dashboard under `/ui/` on its 127.0.0.1 control port. Entry is by a one-time
 * token (`ggen p2p ui` asks the daemon for one over the authenticated control API) exchanged
 * for an HttpOnly, SameSite=Strict session cookie; every other request needs the cookie. The
 * control server has already checked `Host` (DNS rebinding); here a foreign `Origin` or a
 * cross-site fetch is refused (CSRF), and pages carry a Content-Security-Policy that allows
 * only the dashboard's own script and styles. Live updates are Server-Sent Events.
 * @module
 */
import { embeddedModuleUrl, type Logger, randomHex } from "../../core/mod.ts";
import type { DashboardStateSource } from "./state.ts";

/** The session cookie's name */
export const SESSION_COOKIE = "ggen_ui";
/** How long a login token may wait to be used */
const TOKEN_TTL_MS = 2 * 60 * 1000;
/** How long a session lasts */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Event streams open at once */
const MAX_STREAMS = 16;
/** Between two snapshots on an event stream */
const PUSH_INTERVAL_MS = 1000;

/** Only the dashboard's own script, styles and connections; no framing, no forms */
export const DASHBOARD_CSP: string = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The dashboard's page and files (src/p2p/dashboard/assets.ts) */
type DashboardAssets = typeof import("./assets.ts");

let loadingAssets: Promise<DashboardAssets> | undefined;

/**
 * The page and files, loaded on first use by a computed URL: the single-file build's embedded
 * part `dashboard`, else the source module. A failed load is tried again on the next request.
 */
function dashboardAssets(home: string): Promise<DashboardAssets> {
  loadingAssets ??= (async () => {
    const url = await embeddedModuleUrl("dashboard", home) ?? import.meta.resolve("./assets.ts");
    return await import(url) as DashboardAssets;
  })().catch((err) => {
    loadingAssets = undefined;
    throw err;
  });
  return loadingAssets;
}

/** The dashboard's HTTP side */
export interface DashboardServer {
  /** A one-time login token for `ggen p2p ui` */
  issueToken(): string;
  /** Answer a request under `/ui/` (the Host header was checked by the caller) */
  handle(req: Request, url: URL): Promise<Response>;
  /** Close the event streams (the HTTP server waits for open requests when it shuts down) */
  stop(): void;
}

/** Create the dashboard's HTTP side */
export function createDashboardServer(
  components: { state: DashboardStateSource; logger: Logger },
  init: {
    /** The daemon's GGEN_HOME (where the single-file build writes the page's code without a user cache) */
    home: string;
  },
): DashboardServer {
  const log = components.logger.child("dashboard");
  const tokens = new Map<string, number>();
  const sessions = new Map<string, number>();
  const streams = new Set<AbortController>();
  const stopping = new AbortController();

  const expire = (m: Map<string, number>) => {
    const now = Date.now();
    for (const [k, until] of m) if (until < now) m.delete(k);
  };
  const text = (status: number, body: string, extra: Record<string, string> = {}) =>
    new Response(body, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra },
    });
  const sessionOf = (req: Request): string | undefined => {
    const cookie = req.headers.get("cookie") ?? "";
    for (const part of cookie.split(";")) {
      const [name, value] = part.trim().split("=");
      if (name === SESSION_COOKIE && value && (sessions.get(value) ?? 0) > Date.now()) return value;
    }
    return undefined;
  };

  function events(): Response {
    if (streams.size >= MAX_STREAMS) return text(503, "Too many dashboard streams open\n");
    const controller = new AbortController();
    streams.add(controller);
    const signal = AbortSignal.any([controller.signal, stopping.signal]);
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(out) {
        const push = async () => {
          if (signal.aborted) return;
          try {
            const state = await components.state.snapshot(AbortSignal.any([signal, AbortSignal.timeout(5000)]));
            out.enqueue(encoder.encode(`event: state\ndata: ${JSON.stringify(state)}\n\n`));
          } catch (err) {
            if (signal.aborted) return;
            log.debug(`snapshot: ${(err as Error).message}`);
            out.enqueue(encoder.encode(`: snapshot failed\n\n`));
          }
          timer = setTimeout(push, PUSH_INTERVAL_MS);
        };
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          streams.delete(controller);
          try {
            out.close();
          } catch {
            // already closed
          }
        }, { once: true });
        void push();
      },
      cancel() {
        controller.abort();
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  }

  return {
    issueToken() {
      expire(tokens);
      const token = randomHex(32);
      tokens.set(token, Date.now() + TOKEN_TTL_MS);
      return token;
    },
    async handle(req, url) {
      // CSRF: only the dashboard's own pages may send requests that carry an Origin
      const origin = req.headers.get("origin");
      if (
        (origin !== null && origin !== `http://${req.headers.get("host")}`) ||
        req.headers.get("sec-fetch-site") === "cross-site"
      ) {
        return text(403, "Cross-origin request refused\n");
      }
      if (req.method !== "GET" && req.method !== "HEAD") return text(405, "Method not allowed\n");
      if (url.pathname === "/ui/login") {
        expire(tokens);
        const token = url.searchParams.get("token") ?? "";
        if (!tokens.delete(token)) {
          return text(401, "This dashboard link was used or has expired: run `ggen p2p ui` for a new one\n");
        }
        expire(sessions);
        const session = randomHex(32);
        sessions.set(session, Date.now() + SESSION_TTL_MS);
        return new Response(null, {
          status: 303,
          headers: {
            location: "/ui/",
            "set-cookie": `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=${
              SESSION_TTL_MS / 1000
            }`,
            "cache-control": "no-store",
          },
        });
      }
      if (!sessionOf(req)) {
        return text(401, "Not signed in: open the link `ggen p2p ui` prints\n");
      }
      if (url.pathname === "/ui/" || url.pathname === "/ui") {
        return new Response((await dashboardAssets(init.home)).DASHBOARD_PAGE, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": DASHBOARD_CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
          },
        });
      }
      if (url.pathname === "/ui/state") {
        return Response.json(await components.state.snapshot(req.signal), { headers: { "cache-control": "no-store" } });
      }
      if (url.pathname === "/ui/events") return events();
      const files = (await dashboardAssets(init.home)).DASHBOARD_FILES;
      const asset = Object.hasOwn(files, url.pathname) ? files[url.pathname] : undefined;
      if (asset) {
        return new Response(asset.body, {
          headers: { "content-type": asset.type, "x-content-type-options": "nosniff", "cache-control": "no-cache" },
        });
      }
      return text(404, "No such dashboard page\n");
    },
    stop() {
      stopping.abort();
    },
  };
}
