/**
 * The registry's HTTP/1.1 listener. One parser owns each connection end to end: Node's HTTP
 * server (llhttp, strict: bare-LF lines, obsolete line folding and conflicting framing are
 * refused) as Deno ships it, in front of a fetch-style handler. Nothing is proxied, so no
 * second parser can disagree with the first, and the client's address comes from the socket.
 *
 * Bounds: a deadline for the request head (slowloris), for the whole request, and for idle
 * keep-alive connections; a global and a per-IP connection cap, under which a refused client
 * gets `503` and its socket is closed at once. The global cap stays below the process's file
 * descriptor limit, so a flood of idle sockets never reaches `EMFILE` (Deno 2.9.6's `node:net`
 * listener stops accepting for good after one).
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import { Readable } from "node:stream";
import type { Logger } from "../../core/logger.ts";

/** The handler the server calls; `remoteAddr` is the socket's peer */
export type FetchHandler = (req: Request, info: { remoteAddr: Deno.NetAddr }) => Promise<Response>;

/** Options of {@link startHttpServer} */
export interface HttpServerInit {
  hostname: string;
  /** 0 picks a free port */
  port: number;
  /** Deadline for a complete request head. @default 10 s */
  headerTimeoutMs?: number;
  /** Deadline for a whole request, body included. @default 120 s */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. @default 5 s */
  keepAliveTimeoutMs?: number;
  /** Most open connections. @default derived from the file descriptor limit */
  maxConnections?: number;
  /** Most open connections from one IP address. @default 64 */
  maxConnectionsPerIp?: number;
}

/** A running server */
export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Connections open now */
  openConnections(): number;
  /** Connections refused with 503 since the start */
  refusedConnections(): number;
  close(): Promise<void>;
}

const BUSY = "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n" +
  'content-type: application/json\r\ncontent-length: 77\r\n\r\n{"code":"UnavailableError","message":"Too many connections: retry in a moment"}';

/** Soft limit of open files of this process, when the platform tells */
function fileDescriptorLimit(): number | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m && m[1] !== "unlimited") return Number(m[1]);
  } catch {
    // not Linux, or no read permission: use the fixed default
  }
  return undefined;
}

/**
 * The default global connection cap: half of what the descriptor limit leaves after a reserve
 * for the database, blobs being served (one per download) and the runtime.
 */
export function defaultMaxConnections(): number {
  const limit = fileDescriptorLimit();
  if (limit === undefined) return 1024;
  return Math.max(8, Math.min(10_000, Math.floor((limit - 64) / 2)));
}

function toRequest(req: IncomingMessage, base: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(req.url ?? "/", base), {
    method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (!response.body || head) {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      }
    }
    res.end();
  } finally {
    if (res.destroyed) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Listen on `init.hostname:init.port` and serve `handler` */
export async function startHttpServer(
  components: { logger: Logger },
  init: HttpServerInit,
  handler: FetchHandler,
): Promise<HttpServer> {
  const log = components.logger.child("http");
  const maxConnections = init.maxConnections ?? defaultMaxConnections();
  const maxPerIp = init.maxConnectionsPerIp ?? 64;
  const perIp = new Map<string, number>();
  let open = 0;
  let refused = 0;

  const http = createHttpServer({
    headersTimeout: init.headerTimeoutMs ?? 10_000,
    requestTimeout: init.requestTimeoutMs ?? 120_000,
    keepAliveTimeout: init.keepAliveTimeoutMs ?? 5_000,
    connectionsCheckingInterval: 500,
    maxHeaderSize: 32 * 1024,
    requireHostHeader: true,
  }, (req, res) => {
    const socket = req.socket;
    const remoteAddr: Deno.NetAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "unknown",
      port: socket.remotePort ?? 0,
    };
    const aborter = new AbortController();
    res.once("close", () => aborter.abort());
    let request: Request;
    try {
      request = toRequest(
        req,
        `http://${init.hostname.includes(":") ? `[${init.hostname}]` : init.hostname}`,
        aborter.signal,
      );
    } catch (err) {
      log.debug(`bad request from ${remoteAddr.hostname}: ${(err as Error).message}`);
      res.writeHead(400, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ code: "ValidationError", message: "Malformed request" }));
      return;
    }
    handler(request, { remoteAddr })
      .then((response) => writeResponse(res, response, req.method === "HEAD"))
      .catch((err) => {
        log.debug(`response to ${remoteAddr.hostname} failed: ${(err as Error).message}`);
        res.destroy();
      });
  });
  http.maxHeadersCount = 100;
  http.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    log.debug(`client error: ${err.code ?? err.message}`);
    if (!socket.writable) return socket.destroy();
    const status = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  const listener = createNetServer((socket: Socket) => {
    const ip = socket.remoteAddress ?? "unknown";
    const fromIp = perIp.get(ip) ?? 0;
    socket.on("error", () => {}); // a reset peer is not an error of ours
    if (open >= maxConnections || fromIp >= maxPerIp) {
      // Answer and free the descriptor at once: a held socket is what exhausts a server
      refused++;
      if (refused % 1000 === 1) {
        log.warn(`refusing connections: ${open} open (cap ${maxConnections}), ${fromIp} from ${ip} (cap ${maxPerIp})`);
      }
      const destroy = setTimeout(() => socket.destroy(), 200);
      socket.write(BUSY, () => {
        clearTimeout(destroy);
        socket.destroy();
      });
      return;
    }
    open++;
    perIp.set(ip, fromIp + 1);
    socket.once("close", () => {
      open--;
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
    http.emit("connection", socket);
  });
  listener.on("error", (err: Error) => log.error(`listener: ${err.message}`));
  const ready = Promise.withResolvers<void>();
  listener.once("error", (err: Error) => ready.reject(err));
  listener.listen({ host: init.hostname, port: init.port }, () => ready.resolve());
  await ready.promise;
  const address = listener.address();
  const port = typeof address === "object" && address ? address.port : init.port;
  return {
    hostname: init.hostname,
    port,
    openConnections: () => open,
    refusedConnections: () => refused,
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      http.closeAllConnections();
      http.close();
      await closed;
    },
  };
}
