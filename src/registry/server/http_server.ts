/**
 * The registry's HTTP/1.1 listener. One parser owns each connection end to end: Node's HTTP
 * server (llhttp, strict: bare-LF lines, obsolete line folding and conflicting framing are
 * refused) as Deno ships it, in front of a fetch-style handler. Nothing is proxied, so no
 * second parser can disagree with the first, and the client's address comes from the socket.
 *
 * Bounds: a deadline for the request head (slowloris), for the whole request, and for idle
 * keep-alive connections; a global and a per-IP connection cap. At the global cap a new
 * connection evicts the oldest idle one (no request in flight: a silent socket, a slowloris, an
 * idle keep-alive), so a flood of idle sockets cannot lock legitimate clients out; only when
 * every connection is busy, or one IP holds its share, is a client refused with `503` and its
 * socket closed at once. The global cap stays below the process's file descriptor limit, so a
 * flood never reaches `EMFILE` (Deno 2.9.6's `node:net` listener stops accepting for good
 * after one).
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type Logger, UnavailableError } from "../../core/mod.ts";

/** The handler the server calls; `remoteAddr` is the socket's peer */
export type FetchHandler = (req: Request, info: { remoteAddr: Deno.NetAddr }) => Promise<Response>;

/** Options of {@link startHttpServer} */
export interface HttpServerInit {
  /** Address the server listens on */
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
  /** Idle connections closed to make room since the start */
  evictedConnections(): number;
  close(): Promise<void>;
}

const BUSY = "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n" +
  'content-type: application/json\r\ncontent-length: 77\r\n\r\n{"code":"UnavailableError","message":"Too many connections: retry in a moment"}';

/** Upper bound of the default cap, and so of the descriptors {@link freeDescriptors} opens */
const MAX_DEFAULT_CONNECTIONS = 10_000;
/** Descriptors kept for the database, the runtime and log files */
const RESERVED_DESCRIPTORS = 64;

/**
 * How many more files this process can open now, up to `max`. Deno exposes no getrlimit
 * without --allow-all (/proc) or --allow-ffi, so the headroom is measured: open /dev/null until
 * the limit answers, then close everything. Done once, before listening.
 */
export function freeDescriptors(max: number): number | undefined {
  const files: Deno.FsFile[] = [];
  try {
    for (let i = 0; i < max; i++) files.push(Deno.openSync("/dev/null"));
    return max;
  } catch {
    // EMFILE (or no /dev/null): what was opened is the headroom
    return files.length > 0 ? files.length : undefined;
  } finally {
    for (const f of files) f.close();
  }
}

/**
 * The default global connection cap: half of the descriptors left after a reserve (a
 * connection may hold a second descriptor: the blob it is downloading).
 */
export function defaultMaxConnections(): number {
  const free = freeDescriptors(2 * MAX_DEFAULT_CONNECTIONS + RESERVED_DESCRIPTORS);
  if (free === undefined) return 1024;
  return Math.max(8, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor((free - RESERVED_DESCRIPTORS) / 2)));
}

/**
 * The request body as a web stream. Cancelling it (a handler that answered early, a 413) does
 * not reset the socket: the rest of the body is read and dropped, so the client gets to read
 * the answer; the request deadline bounds how long that may take.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => {
        if (!done) controller.close();
        done = true;
      });
      req.once("error", (err) => {
        if (!done) controller.error(err);
        done = true;
      });
      req.pause();
    },
    pull() {
      req.resume();
    },
    cancel() {
      done = true;
      req.resume();
    },
  }, { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength });
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
    ...(hasBody ? { body: bodyStream(req), duplex: "half" } : {}),
  } as RequestInit);
}

/**
 * Write `response` to `res`. A body without a content-length is one the handler built in memory
 * (JSON, pages, metrics; blobs always state their length): it goes out in one write with its
 * length, which saves the stream's turns and the chunked framing on the hot metadata path.
 */
async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (!response.body || head) {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  if (!response.headers.has("content-length")) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    res.setHeader("content-length", bytes.byteLength);
    res.end(bytes);
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

function peerAddr(socket: Socket): Deno.NetAddr {
  return { transport: "tcp", hostname: socket.remoteAddress ?? "unknown", port: socket.remotePort ?? 0 };
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
  /** Open sockets, least recently used first, with whether a request is in flight */
  const sockets = new Map<Socket, { busy: boolean; ip: string; remoteAddr: Deno.NetAddr }>();
  let refused = 0;
  let evicted = 0;
  /**
   * Make room: close the longest-idle connection of the address holding the most connections
   * (a flood pays for itself, a client with one connection keeps it), else any idle one.
   */
  const evictOldestIdle = (): boolean => {
    let heaviest = "";
    for (const [ip, count] of perIp) if (count > (perIp.get(heaviest) ?? 0)) heaviest = ip;
    let fallback: Socket | undefined;
    for (const [socket, state] of sockets) {
      if (state.busy) continue;
      if (state.ip === heaviest) {
        fallback = socket;
        break;
      }
      fallback ??= socket;
    }
    if (!fallback) return false;
    sockets.delete(fallback);
    evicted++;
    fallback.destroy();
    return true;
  };

  const http = createHttpServer({
    headersTimeout: init.headerTimeoutMs ?? 10_000,
    requestTimeout: init.requestTimeoutMs ?? 120_000,
    keepAliveTimeout: init.keepAliveTimeoutMs ?? 5_000,
    connectionsCheckingInterval: 500,
    maxHeaderSize: 32 * 1024,
    requireHostHeader: true,
  }, (req, res) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    if (state) {
      state.busy = true;
      res.once("close", () => {
        state.busy = false;
        // most recently used last: eviction takes the connection idle the longest
        if (sockets.delete(socket)) sockets.set(socket, state);
      });
    }
    // Read once per connection: each read of a socket's address is a call into the runtime
    const remoteAddr = state?.remoteAddr ?? peerAddr(socket);
    const aborter = new AbortController();
    // The handler's signal tells it the client left; an answer that went out needs no abort
    res.once("close", () => {
      if (!res.writableFinished) aborter.abort();
    });
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
      .then(async (response) => {
        // An early answer (413, 401): read and drop the rest of the body, so the client reads
        // the answer instead of a reset; the request deadline bounds how long that may take
        if (!req.complete && request.body && !request.bodyUsed) await request.body.cancel();
        else if (!req.complete) req.resume();
        await writeResponse(res, response, req.method === "HEAD");
      })
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

  // Runs after the HTTP server's own connection listener: a refused socket is answered and
  // destroyed before it can send a request
  http.on("connection", (socket: Socket) => {
    const ip = socket.remoteAddress ?? "unknown";
    const fromIp = perIp.get(ip) ?? 0;
    socket.on("error", () => {}); // a reset peer is not an error of ours
    const full = sockets.size >= maxConnections && !evictOldestIdle();
    if (full || fromIp >= maxPerIp) {
      // Answer and free the descriptor at once: a held socket is what exhausts a server
      refused++;
      if (refused % 1000 === 1) {
        log.warn(
          `refusing connections: ${sockets.size} open (cap ${maxConnections}), ${fromIp} from ${ip} (cap ${maxPerIp})`,
        );
      }
      const destroy = setTimeout(() => socket.destroy(), 200);
      socket.write(BUSY, () => {
        clearTimeout(destroy);
        socket.destroy();
      });
      return;
    }
    sockets.set(socket, { busy: false, ip, remoteAddr: peerAddr(socket) });
    perIp.set(ip, fromIp + 1);
    socket.once("close", () => {
      sockets.delete(socket);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  });
  const ready = Promise.withResolvers<void>();
  http.once("error", (err: Error & { code?: string }) => {
    const where = `${init.hostname}:${init.port}`;
    const why = err.code === "EADDRINUSE"
      ? "the port is in use (another registry or program holds it)"
      : err.code === "EADDRNOTAVAIL"
      ? "that address is not on this machine"
      : err.code === "EACCES"
      ? "ports below 1024 need privileges"
      : undefined;
    ready.reject(
      why
        ? new UnavailableError(
          `Cannot serve the registry on ${where}: ${why}; choose another with --host/--port or [server] in registry.toml`,
          { cause: err },
        )
        : err,
    );
  });
  http.listen({ host: init.hostname, port: init.port }, () => ready.resolve());
  await ready.promise;
  http.on("error", (err: Error) => log.error(`listener: ${err.message}`));
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : init.port;
  return {
    hostname: init.hostname,
    port,
    openConnections: () => sockets.size,
    refusedConnections: () => refused,
    evictedConnections: () => evicted,
    async close() {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
