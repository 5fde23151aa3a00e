/**
 * A small fault-injecting TCP proxy for tests: it forwards 127.0.0.1:<port> to a target and can
 * add latency, throttle bandwidth, stop answering (black hole), or count the bytes it forwarded.
 * @module
 */

/** Faults applied to new and running connections */
export interface Faults {
  /** Delay added before each burst of data (one way), ms */
  latencyMs?: number;
  /** Downstream (target → client) bytes per second; 0 = unlimited */
  bytesPerSecond?: number;
  /** Accept and never forward anything */
  blackHole?: boolean;
  /** Close every new connection at once (a reset) */
  reset?: boolean;
  /** Close a connection after forwarding this many bytes downstream (a truncated body) */
  truncateAfterBytes?: number;
}

/** A running proxy */
export interface FaultProxy {
  readonly port: number;
  faults: Faults;
  /** Bytes forwarded target → client so far */
  readonly downstreamBytes: number;
  close(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a proxy to `target` */
export function startFaultProxy(target: { hostname: string; port: number }, faults: Faults = {}): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let downstream = 0;
  let closed = false;
  const proxy: FaultProxy = {
    port: (listener.addr as Deno.NetAddr).port,
    faults,
    get downstreamBytes() {
      return downstream;
    },
    close() {
      closed = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    },
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn, down: boolean) => {
    let forwarded = 0;
    let lastChunkAt = -Infinity;
    try {
      while (!closed) {
        // A fresh buffer per read: a write may still reference the previous one
        const buf = new Uint8Array(16 * 1024);
        const n = await from.read(buf);
        if (n === null) break;
        if (proxy.faults.blackHole) continue;
        const cut = proxy.faults.truncateAfterBytes;
        if (down && cut !== undefined && forwarded + n > cut) {
          let off = 0;
          while (off < cut - forwarded) off += await to.write(buf.subarray(off, cut - forwarded));
          break;
        }
        forwarded += n;
        // Latency delays the start of each burst (a request or a response), not every chunk
        if (proxy.faults.latencyMs && performance.now() - lastChunkAt > 50) await sleep(proxy.faults.latencyMs);
        lastChunkAt = performance.now();
        if (down && proxy.faults.bytesPerSecond) await sleep((n / proxy.faults.bytesPerSecond) * 1000);
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
        if (down) downstream += n;
      }
    } catch { /* reset by either side */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* closed */ }
      conns.delete(c);
    }
  };
  void (async () => {
    try {
      for await (const client of listener) {
        conns.add(client);
        if (proxy.faults.reset) {
          client.close();
          conns.delete(client);
          continue;
        }
        try {
          const upstream = await Deno.connect({ hostname: target.hostname, port: target.port });
          conns.add(upstream);
          void pipe(client, upstream, false);
          void pipe(upstream, client, true);
        } catch {
          client.close();
        }
      }
    } catch { /* listener closed */ }
  })();
  return proxy;
}

/** Parse `/ip4/A/tcp/P/p2p/ID` */
export function tcpTarget(multiaddr: string): { hostname: string; port: number; peerId: string } {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/p2p\/([^/]+)$/.exec(multiaddr);
  if (!m) throw new TypeError(`Not a /ip4/…/tcp/…/p2p/… address: ${multiaddr}`);
  return { hostname: m[1]!, port: Number(m[2]), peerId: m[3]! };
}
