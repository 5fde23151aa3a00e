/**
 * The long-lived node behind `ggen p2p start`, and its control API: HTTP bound to 127.0.0.1,
 * so other `ggen` invocations use the daemon's node instead of starting their own.
 *
 * Both ends prove they hold the secret in `$GGEN_HOME/daemon.json` (mode 0600) without ever
 * sending it: the client signs each request with HMAC-SHA256(secret, nonce, method, path, body
 * digest), the daemon answers with HMAC-SHA256(secret, nonce, answer digest). A process that
 * squats the port of a stale daemon file learns nothing it can reuse and cannot forge an answer;
 * every call has a deadline, so a squatter that hangs cannot hang the CLI.
 * @module
 */
import {
  type Logger,
  randomHex,
  readAllLimited,
  SECOND,
  serializeError,
  UnavailableError,
  ValidationError,
} from "../core/mod.ts";
import { callNode, isNodeMethod, type NodeParams } from "./node_calls.ts";
import type { FetchOptions, P2PNode } from "./types.ts";
import type { Dashboard, NetworkEvent } from "./dashboard/mod.ts";
import {
  answerMac,
  BACKGROUND_CALL_MS,
  BACKGROUND_METHODS,
  type BackgroundMethod,
  daemonFile,
  type DaemonInfo,
  MAX_BACKGROUND_CALLS,
  MAX_CONTROL_REQUEST_BYTES,
  NONCE,
  NONCE_HEADER,
  PROOF_HEADER,
  requestMac,
  sameHex,
} from "./daemon_auth.ts";

/** A running control API */
export interface ControlServer {
  /** Every version of a package */
  readonly info: DaemonInfo;
  /** Stop, releasing everything it started */
  stop(): Promise<void>;
}

/** Serve `node` on 127.0.0.1 and write the daemon file */
export async function startControlServer(
  components: { logger: Logger },
  init: {
    home: string;
    node: P2PNode & { peerId: string; listenAddrs: string[] };
    /** `ggen p2p stop` asked the daemon to stop (an authenticated request) */
    onShutdown?: () => void;
    /** The web dashboard, served under `/ui/` (its own cookie sign-in) */
    dashboard?: Dashboard;
  },
): Promise<ControlServer> {
  const { node } = init;
  const log = components.logger.child("daemon");
  const token = randomHex(32);
  const ready = Promise.withResolvers<number>();
  // Nonces seen recently: a captured request cannot be replayed
  const seen = new Map<string, number>();
  const remember = (nonce: string): boolean => {
    const now = Date.now();
    if (seen.size > 10_000) { for (const [n, t] of seen) if (now - t > 10 * 60 * SECOND) seen.delete(n); }
    if (seen.has(nonce)) return false;
    seen.set(nonce, now);
    return true;
  };
  const answer = async (nonce: string, status: number, value: unknown): Promise<Response> => {
    const body = new TextEncoder().encode(JSON.stringify(value));
    return new Response(body, {
      status,
      headers: { "content-type": "application/json", [PROOF_HEADER]: await answerMac(token, nonce, body) },
    });
  };
  let port = 0;
  // Background calls run on the daemon's own deadline (the client has gone); stop aborts them
  const background = new Set<Promise<unknown>>();
  const stopping = new AbortController();
  const runInBackground = (method: BackgroundMethod, params: unknown): boolean => {
    if (background.size >= MAX_BACKGROUND_CALLS) return false;
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(BACKGROUND_CALL_MS)]);
    const call = callNode(node, method, params as NodeParams<typeof method>, signal)
      .catch((err) => log.debug(`background ${method}: ${(err as Error).message}`))
      .finally(() => background.delete(call));
    background.add(call);
    return true;
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, async (req) => {
    const url = new URL(req.url);
    // DNS rebinding: a web page can reach 127.0.0.1 only under another host name
    const host = req.headers.get("host");
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return Response.json({ name: "UnauthorizedError", message: "Wrong Host" }, { status: 421 });
    }
    if (url.pathname === "/ui" || url.pathname.startsWith("/ui/")) {
      return init.dashboard
        ? await init.dashboard.handle(req, url)
        : new Response("This daemon has no dashboard\n", { status: 404 });
    }
    const nonce = req.headers.get(NONCE_HEADER) ?? "";
    let body: Uint8Array;
    try {
      body = req.body
        ? await readAllLimited(req.body, {
          limit: MAX_CONTROL_REQUEST_BYTES,
          tooLarge: () => new ValidationError(`Control request over ${MAX_CONTROL_REQUEST_BYTES} bytes`),
        })
        : new Uint8Array(0);
    } catch (err) {
      return Response.json({ ok: false, error: serializeError(err) }, { status: 413 });
    }
    const mac = (req.headers.get("authorization") ?? "").replace(/^GGEN-HMAC /, "");
    if (
      !NONCE.test(nonce) ||
      !sameHex(mac, await requestMac(token, nonce, req.method, url.pathname + url.search, body)) ||
      !remember(nonce)
    ) {
      return Response.json({ name: "UnauthorizedError", message: "Bad daemon credentials" }, { status: 401 });
    }
    try {
      if (url.pathname === "/fetch" && req.method === "GET") {
        const stream = await node.fetch(url.searchParams.get("peer") ?? "", url.searchParams.get("sha256") ?? "", {
          offset: Number(url.searchParams.get("offset") ?? 0),
          stallMs: Number(url.searchParams.get("stallMs") ?? 0) || undefined,
          ...(url.searchParams.has("expectedSize")
            ? { expectedSize: Number(url.searchParams.get("expectedSize")) }
            : {}),
          ...(url.searchParams.has("minBytesPerSecond")
            ? { minBytesPerSecond: Number(url.searchParams.get("minBytesPerSecond")) }
            : {}),
        } as FetchOptions);
        // The bytes are content-addressed and checked by the client's store; the proof binds the nonce
        return new Response(stream, {
          headers: {
            "content-type": "application/octet-stream",
            [PROOF_HEADER]: await answerMac(token, nonce, undefined),
          },
        });
      }
      if (url.pathname === "/ui-token" && req.method === "POST") {
        if (!init.dashboard) throw new UnavailableError("This daemon has no dashboard");
        return await answer(nonce, 200, {
          ok: true,
          value: { path: `/ui/login?token=${init.dashboard.issueToken()}` },
        });
      }
      if (url.pathname === "/event" && req.method === "POST") {
        const e = JSON.parse(new TextDecoder().decode(body)) as Partial<NetworkEvent>;
        if ((e.kind !== "unavailable" && e.kind !== "answered") || typeof e.message !== "string") {
          throw new ValidationError("An event needs kind (unavailable, answered), backend and message");
        }
        init.dashboard?.noteEvent({ kind: e.kind, backend: String(e.backend), message: e.message });
        return await answer(nonce, 200, { ok: true, value: null });
      }
      if (url.pathname === "/shutdown" && req.method === "POST") {
        log.info("stop requested by `ggen p2p stop`");
        queueMicrotask(() => init.onShutdown?.());
        return await answer(nonce, 200, { ok: true, value: null });
      }
      if (url.pathname === "/rpc" && req.method === "POST") {
        const { method, params, background: later } = JSON.parse(new TextDecoder().decode(body)) as {
          method: unknown;
          params: unknown;
          background?: unknown;
        };
        if (!isNodeMethod(method)) throw new ValidationError(`Unknown method "${String(method).slice(0, 40)}"`);
        if (later === true) {
          if (!(BACKGROUND_METHODS as readonly string[]).includes(method)) {
            throw new ValidationError(`"${method}" cannot run in the background`);
          }
          if (!runInBackground(method as BackgroundMethod, params)) {
            throw new UnavailableError(`The P2P daemon is busy (${MAX_BACKGROUND_CALLS} background calls running)`);
          }
          return await answer(nonce, 202, { ok: true, value: null });
        }
        // The client hanging up aborts the call in the node
        const value = await callNode(node, method, params as NodeParams<typeof method>, req.signal);
        return await answer(nonce, 200, { ok: true, value: value ?? null });
      }
      return await answer(nonce, 404, { ok: false, error: { name: "NotFoundError", message: "No such route" } });
    } catch (err) {
      return await answer(nonce, 500, { ok: false, error: serializeError(err) });
    }
  });
  port = await ready.promise;
  const info: DaemonInfo = { pid: Deno.pid, port, token, peerId: node.peerId, listenAddrs: node.listenAddrs };
  const path = daemonFile(init.home);
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(info), { mode: 0o600, createNew: true });
  await Deno.rename(tmp, path);
  log.debug(`control API on 127.0.0.1:${port}`);
  return {
    info,
    async stop() {
      // Event streams never end by themselves: close them, or the shutdown waits for them
      init.dashboard?.stop();
      await server.shutdown();
      stopping.abort();
      await Promise.all(background);
      try {
        const current = JSON.parse(await Deno.readTextFile(path)) as DaemonInfo;
        if (current.pid === Deno.pid) await Deno.remove(path);
      } catch {
        // already gone
      }
    },
  };
}
