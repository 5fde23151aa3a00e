/**
 * Bootstrap peers are dialled at start and again, with backoff, while the node is short of
 * peers and a bootstrap peer is not connected (as Kubo does below its peer threshold): a
 * bootstrap node that restarts, or one whose slots were briefly full when the node started
 * (a flood), is reached on a later try instead of never.
 * @module
 */
import { multiaddr } from "@multiformats/multiaddr";
import type { Log, P2PLibp2p } from "./types.ts";

/** Options of {@link createBootstrapKeeper} */
export interface BootstrapKeeperInit {
  /** Bootstrap multiaddrs, each with a `/p2p/` component */
  addrs: string[];
  /** Below this many connected peers, unconnected bootstrap peers are dialled again. @default 4 */
  minPeers?: number;
  /** First retry delay, doubled after each failure. @default 1000 */
  retryMs?: number;
  /** Longest delay between two tries of one address. @default 30000 */
  maxRetryMs?: number;
}

/** Collaborators of the keeper */
export interface BootstrapKeeperComponents {
  node: P2PLibp2p;
  log: Log;
}

/** Keeps the node connected to its bootstrap peers */
export interface BootstrapKeeper {
  start(): void;
  stop(): void;
}

/** Create the keeper */
export function createBootstrapKeeper(
  components: BootstrapKeeperComponents,
  init: BootstrapKeeperInit,
): BootstrapKeeper {
  const { node, log } = components;
  const minPeers = init.minPeers ?? 4;
  const firstDelay = init.retryMs ?? 1000;
  const maxDelay = init.maxRetryMs ?? 30_000;
  const shutdown = new AbortController();
  /** The next try of each address */
  const timers = new Map<string, ReturnType<typeof setTimeout>>();

  const connected = (peerId: string | undefined) =>
    peerId !== undefined && node.getConnections().some((c) => c.remotePeer.toString() === peerId);
  const shortOfPeers = () => new Set(node.getConnections().map((c) => c.remotePeer.toString())).size < minPeers;

  const idOf = (addr: string) => multiaddr(addr).getComponents().find((c) => c.name === "p2p")?.value;
  /** Try `addr` unless it is connected; `failures` in a row so far set the backoff */
  const keep = (addr: string, failures: number, first: boolean) => {
    const peerId = idOf(addr);
    const attempt = async () => {
      if (connected(peerId) || (!first && !shortOfPeers())) return schedule(addr, 0, maxDelay);
      try {
        await node.dial(multiaddr(addr), { signal: shutdown.signal });
        schedule(addr, 0, maxDelay);
      } catch (err) {
        if (shutdown.signal.aborted) return;
        const next = Math.min(maxDelay, firstDelay * 2 ** failures);
        log("debug", `bootstrap ${addr}: ${(err as Error).message} (next try in ${next} ms)`);
        schedule(addr, failures + 1, next);
      }
    };
    void attempt();
  };
  const schedule = (addr: string, failures: number, delay: number) => {
    if (shutdown.signal.aborted) return;
    clearTimeout(timers.get(addr));
    timers.set(
      addr,
      setTimeout(() => {
        timers.delete(addr);
        keep(addr, failures, false);
      }, delay),
    );
  };
  /** A bootstrap peer that went away is tried again soon, not at the next long check */
  const onDisconnect = (evt: CustomEvent<{ toString(): string }>) => {
    const gone = evt.detail.toString();
    for (const addr of init.addrs) if (idOf(addr) === gone) schedule(addr, 0, firstDelay);
  };

  return {
    start() {
      node.addEventListener("peer:disconnect", onDisconnect);
      for (const addr of init.addrs) keep(addr, 0, true);
    },
    stop() {
      shutdown.abort(new DOMException("Node stopping", "AbortError"));
      node.removeEventListener("peer:disconnect", onDisconnect);
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
