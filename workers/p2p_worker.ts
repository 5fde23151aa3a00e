/// <reference lib="deno.worker" />
/**
 * The P2P worker: owns the one libp2p node of the process and answers the typed requests of
 * `src/p2p/protocol.ts`. The node and its protocols are services in `workers/p2p/`; this file
 * is the message dispatch: one AbortController per request (cancel and deadline), credit for
 * fetch streams, and `stop` aborting whatever is still running.
 * @module
 */
import { serializeError, UnavailableError, ValidationError } from "../src/core/mod.ts";
import type { LogLevel } from "../src/core/mod.ts";
import {
  errorReply,
  type MainToWorker,
  MAX_EXCLUDED_PROVIDERS,
  okReply,
  type RequestMessage,
  type WorkerToMain,
} from "../src/p2p/mod.ts";
import { type P2PService, startP2PService } from "./p2p/service.ts";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
let logLevel: LogLevel = "info";
let service: P2PService | undefined;
const controllers = new Map<number, AbortController>();

function post(msg: WorkerToMain, transfer?: Transferable[]): void {
  self.postMessage(msg, transfer ? { transfer } : undefined);
}

function log(level: LogLevel, message: string): void {
  if (LEVELS[level] <= LEVELS[logLevel]) post({ type: "log", level, component: "p2p", message });
}

function running(): P2PService {
  if (!service) throw new UnavailableError("The P2P node is not started");
  return service;
}

async function dispatch(msg: RequestMessage, signal: AbortSignal): Promise<unknown> {
  switch (msg.method) {
    case "start": {
      if (service) throw new ValidationError("The P2P node is already started");
      logLevel = msg.params.logLevel;
      service = await startP2PService({ log, post }, msg.params);
      return { peerId: service.node.peerId.toString(), listenAddrs: service.node.getMultiaddrs().map(String) };
    }
    case "stop": {
      for (const [id, c] of controllers) if (id !== msg.id) c.abort(new DOMException("Node stopping", "AbortError"));
      await service?.stop(msg.params);
      service = undefined;
      return;
    }
    case "status":
      return running().status();
    case "peers":
      return await running().peers(signal);
    case "metrics":
      return await running().metrics();
    case "dial":
      return await running().dial(msg.params.multiaddr, signal);
    case "provide":
      return await running().provide(msg.params.sha256, signal);
    case "findProviders":
      return await running().providers.findProviders(
        msg.params.sha256,
        msg.params.limit,
        signal,
        new Set((msg.params.exclude ?? []).slice(0, MAX_EXCLUDED_PROVIDERS)),
      );
    case "rankPeers":
      return running().providers.rank(msg.params.peerIds.slice(0, MAX_EXCLUDED_PROVIDERS));
    case "putRecord":
      return await running().records.put(msg.params.key, msg.params.value, signal);
    case "getRecords":
      return await running().records.get(msg.params.key, signal);
    case "getMetadata":
      return await running().metadata.get(msg.params.id, signal);
    case "announce":
      return await running().catalog.announce(msg.params.announcement);
    case "search":
      return await running().catalog.search(msg.params.text, msg.params.limit, signal);
    case "catalogVersions":
      return await running().catalog.versionsOf(msg.params.id, signal);
    case "penalize":
      return running().reputation.judge(msg.params.peerId, msg.params.behaviour, msg.params.reason);
    case "ban":
      return running().reputation.ban(msg.params.peerId, msg.params.ms);
    case "unban":
      return running().reputation.unban(msg.params.peerId);
    case "banned":
      return running().reputation.banned();
    case "transfers":
      return running().fetcher.transfers();
    case "fetch":
      return await running().fetcher.fetch(msg.id, msg.params, signal);
    default: {
      const never: never = msg;
      throw new ValidationError(`Unknown request ${JSON.stringify(never)}`);
    }
  }
}

async function handleRequest(msg: RequestMessage): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  // A fetch's deadline covers only the wait for its header; stalls are caught per chunk
  const signal = msg.method === "fetch"
    ? controller.signal
    : AbortSignal.any([controller.signal, AbortSignal.timeout(msg.timeoutMs)]);
  try {
    const value = await dispatch(msg, signal);
    if (msg.method !== "fetch") post(okReply(msg.id, value ?? null));
  } catch (err) {
    post(errorReply(msg.id, serializeError(err)));
  } finally {
    controllers.delete(msg.id);
  }
}

self.onmessage = (evt: MessageEvent<MainToWorker>) => {
  const msg = evt.data;
  switch (msg.type) {
    case "request":
      void handleRequest(msg);
      break;
    case "cancel":
      controllers.get(msg.id)?.abort(new DOMException("Cancelled", "AbortError"));
      break;
    case "credit":
      service?.fetcher.grant(msg.id, msg.chunks);
      break;
    default: {
      const never: never = msg;
      log("warn", `unknown message ${JSON.stringify(never)}`);
    }
  }
};
