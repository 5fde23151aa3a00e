/**
 * A TCP front for the registry that bounds how long a client may take to send its request
 * headers (Deno.serve 2.9.6 has no header read deadline, so a client trickling headers could
 * hold a connection forever). The front reads the request head within the deadline, passes the
 * client's address on in `x-ggen-client-ip`, asks for `connection: close` so every request gets
 * its own deadline, and then pipes bytes both ways to the Deno.serve listener on loopback.
 * @module
 */
import type { Logger } from "../../core/logger.ts";

/** Header carrying the client's address from the front to the handler */
export const CLIENT_IP_HEADER = "x-ggen-client-ip";
/** Largest request head accepted */
const MAX_HEAD_BYTES = 32 * 1024;

/** Options of {@link startFront} */
export interface FrontInit {
  hostname: string;
  port: number;
  /** Where Deno.serve listens (loopback) */
  backend: { hostname: string; port: number };
  /** @default 10 s */
  headerTimeoutMs?: number;
}

/** A running front */
export interface Front {
  readonly hostname: string;
  readonly port: number;
  close(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** Rewrite the head: drop hop-by-hop and spoofable headers, add ours */
function rewriteHead(head: string, ip: string): string {
  const [requestLine, ...lines] = head.split("\r\n").filter((l) => l !== "");
  const kept = lines.filter((l) => {
    const name = l.slice(0, l.indexOf(":")).trim().toLowerCase();
    return name !== "connection" && name !== "keep-alive" && name !== CLIENT_IP_HEADER;
  });
  return [requestLine, ...kept, "connection: close", `${CLIENT_IP_HEADER}: ${ip}`, "", ""].join("\r\n");
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  try {
    await from.readable.pipeTo(to.writable, { preventClose: true });
  } catch {
    // either side went away
  }
  try {
    await to.closeWrite();
  } catch {
    // already closed
  }
}

async function serveConnection(client: Deno.Conn, init: FrontInit, log: Logger): Promise<void> {
  const ip = (client.remoteAddr as Deno.NetAddr).hostname;
  const timeout = init.headerTimeoutMs ?? 10_000;
  let buf = new Uint8Array(0);
  let headEnd = -1;
  const deadline = setTimeout(() => {
    log.debug(`closing ${ip}: no complete request head within ${timeout} ms`);
    try {
      client.close();
    } catch { /* closed */ }
  }, timeout);
  try {
    const chunk = new Uint8Array(16 * 1024);
    while (headEnd < 0) {
      const n = await client.read(chunk);
      if (n === null) return;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      headEnd = indexOfHeadEnd(buf);
      if (headEnd < 0 && buf.length > MAX_HEAD_BYTES) {
        await client.write(
          enc.encode("HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"),
        );
        return;
      }
    }
  } catch {
    return;
  } finally {
    clearTimeout(deadline);
  }
  let backend: Deno.Conn;
  try {
    backend = await Deno.connect(init.backend);
  } catch {
    client.close();
    return;
  }
  try {
    const head = rewriteHead(dec.decode(buf.subarray(0, headEnd)), ip);
    await backend.write(enc.encode(head));
    if (headEnd < buf.length) await backend.write(buf.subarray(headEnd));
    await Promise.all([pipe(client, backend), pipe(backend, client)]);
  } finally {
    for (const c of [client, backend]) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
}

/** Listen on `init.hostname:init.port` and front the backend */
export function startFront(components: { logger: Logger }, init: FrontInit): Front {
  const log = components.logger.child("front");
  const listener = Deno.listen({ hostname: init.hostname, port: init.port });
  const addr = listener.addr as Deno.NetAddr;
  void (async () => {
    try {
      for await (const conn of listener) void serveConnection(conn, init, log).catch(() => {});
    } catch {
      // listener closed
    }
  })();
  return {
    hostname: addr.hostname,
    port: addr.port,
    close: () => {
      try {
        listener.close();
      } catch { /* closed */ }
    },
  };
}
