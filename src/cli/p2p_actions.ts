/**
 * What the `p2p` commands do (loaded when one of them runs): the daemon, `publish --p2p`,
 * status, peers, bans, stop and swarm keys.
 * @module
 */
import { join, resolve as resolvePath } from "node:path";
import { packDirectory } from "../archive/mod.ts";
import { aborted, ConflictError, MIB, REPROVIDE_INTERVAL_MS, versionFromManifest } from "../core/mod.ts";
import {
  connectDaemon,
  createDashboard,
  daemonFile,
  type Dashboard,
  type IsolateMemory,
  type NodeMemory,
  startControlServer,
  startWorkerNode,
  stopDaemon,
} from "../p2p/mod.ts";
import { heldPackages } from "./dashboard_cmd.ts";
import { UsageError } from "./usage.ts";
import { publisherKey } from "./publish.ts";
import { signVersion } from "../trust/mod.ts";
import type { Context } from "./context.ts";
import { generateSwarmKey, workerInit } from "./node_init.ts";
import { DEFAULT_METRICS_LISTEN } from "./p2p_cmd.ts";

/** `ggen p2p start`: a long-lived node serving the store, with the local control API */
export async function startDaemon(
  ctx: Context,
  opts: { metrics?: string; bootstrapNode?: boolean } = {},
): Promise<void> {
  // A bootstrap node has its metrics on unless told where
  const metricsAddr = opts.metrics !== undefined
    ? parseListen(opts.metrics, "--metrics")
    : opts.bootstrapNode
    ? parseListen(DEFAULT_METRICS_LISTEN, "--metrics")
    : undefined;
  const { config, logger } = ctx;
  // One daemon per home: a second would share the identity and fight over daemon.json
  const running = await connectDaemon(config.home, logger);
  if (running) {
    const s = await running.status({ signal: ctx.signal });
    throw new ConflictError(
      `A P2P daemon already runs for ${config.home} (PeerId ${s.peerId}): stop it with \`ggen p2p stop\`, ` +
        "or give this one another GGEN_HOME",
    );
  }
  const stopped = new AbortController();
  // The dashboard needs the node; the node's announcements go to the dashboard once it exists
  const shown: { dashboard?: Dashboard } = {};
  const init = await workerInit(config, {
    reprovideIntervalMs: REPROVIDE_INTERVAL_MS,
    onAnnouncement: (a, from) => {
      logger.info(`announcement: ${a.package_id}@${a.version} from ${from}`);
      shown.dashboard?.noteAnnouncement(a, from);
    },
    ...(metricsAddr ? { metrics: true } : {}),
    ...(opts.bootstrapNode ? { bootstrapNode: true } : {}),
  });
  // A daemon lives for days: it should not keep what a first, uncached compile of its worker costs
  const node = await startWorkerNode({ logger }, { ...init, warmUp: true });
  // Prometheus scrapes without credentials: a separate, read-only listener (127.0.0.1 unless told)
  const metricsServer = metricsAddr
    ? Deno.serve({ ...metricsAddr, onListen: () => {} }, async (req) => {
      if (new URL(req.url).pathname !== "/metrics" || req.method !== "GET") {
        return new Response("Not found: GET /metrics\n", { status: 404 });
      }
      return new Response(await node.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    })
    : undefined;
  const dashboard = shown.dashboard = createDashboard({ node, logger, held: () => heldPackages(ctx) }, {
    home: config.home,
  });
  const control = await startControlServer({ logger }, {
    home: config.home,
    node,
    dashboard,
    onShutdown: () => stopped.abort(),
  });
  const metricsUrl = metricsServer ? `http://${hostPort(metricsServer.addr)}/metrics` : undefined;
  ctx.out.result(
    {
      peerId: node.peerId,
      listenAddrs: node.listenAddrs,
      controlPort: control.info.port,
      pid: Deno.pid,
      ...(metricsUrl ? { metrics: metricsUrl } : {}),
    },
    `P2P node ${node.peerId}\n${node.listenAddrs.map((a) => `  listening on ${a}`).join("\n")}${
      metricsUrl ? `\n  metrics on ${metricsUrl}` : ""
    }\n  control API on 127.0.0.1:${control.info.port}; dashboard: \`ggen p2p ui\` (Ctrl-C stops)`,
  );
  const until = AbortSignal.any([ctx.signal, stopped.signal]);
  await aborted(until);
  logger.info("stopping P2P node");
  // A daemon that does not stop is worse than one that stops abruptly (a service manager or a
  // test waits on it): past the deadline it exits, naming the step that held it
  let step = "the control API";
  const deadline = setTimeout(() => {
    logger.warn(`The P2P daemon did not stop within ${STOP_DEADLINE_MS / 1000} s (held by ${step}): exiting now`);
    Deno.exit(1);
  }, STOP_DEADLINE_MS);
  try {
    await control.stop();
    step = "the metrics endpoint";
    await metricsServer?.shutdown();
    step = "the libp2p node";
    await node.stop();
  } finally {
    clearTimeout(deadline);
  }
}

/** How long a stopping daemon may take before it exits anyway */
const STOP_DEADLINE_MS = 15_000;

/** `host:port` (an IPv6 host in brackets) as Deno.serve options */
function parseListen(value: string, flag: string): { hostname: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9A-Za-z.\-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535) {
    throw new UsageError(`${flag} takes host:port such as ${DEFAULT_METRICS_LISTEN}, not "${value}"`);
  }
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function hostPort(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** `ggen publish --p2p DIR`: pack, store, provide, put records, announce; no central registry */
export async function publishP2P(ctx: Context, dir: string, opts: { key?: string } = {}): Promise<void> {
  const packed = await packDirectory(resolvePath(dir), { namespace: ctx.config.registry.namespace });
  const signer = await publisherKey(ctx, opts.key);
  const version = await signVersion(versionFromManifest(packed.manifest, packed), signer, Date.now());
  await ctx.cache.put(ReadableStream.from([packed.bytes]), packed.sha256, { signal: ctx.signal });
  const { node } = await ctx.p2p();
  const registry = await ctx.p2pRegistry();
  await registry.publish(packed.bytes, version, { signal: ctx.signal, signer });
  if (node.kind !== "daemon") {
    ctx.logger.warn(
      "No P2P daemon runs: peers can fetch this package only while a node of yours serves it (`ggen p2p start`)",
    );
  }
  ctx.out.result(
    { ...version, source: "p2p" },
    `Published ${version.id}@${version.version} to the P2P network (sha256:${version.sha256})`,
  );
}

/** `ggen p2p psk generate` */
export async function pskGenerate(ctx: Context, o: { out: string }): Promise<void> {
  const path = o.out ? resolvePath(o.out) : join(ctx.config.home, "swarm.key");
  try {
    await Deno.lstat(path);
    throw new ConflictError(`Refusing to overwrite "${path}": remove it first or choose --out`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await generateSwarmKey(path);
  ctx.out.result(
    { path },
    `Wrote ${path}. Share it with your peers over a trusted channel, then run:\n  ggen config set registry.p2p.psk_file ${path}\n  ggen config set registry.p2p.private true`,
  );
}

/** `ggen p2p stop` */
export async function stopCommand(ctx: Context): Promise<void> {
  const info = await stopDaemon(ctx.config.home, ctx.logger);
  if (!info) {
    ctx.out.result({ stopped: false }, `No P2P daemon runs for ${ctx.config.home}`);
    return;
  }
  // Wait (bounded) until it has released its file: the next start finds the home free
  for (let i = 0; i < 50; i++) {
    try {
      await Deno.stat(daemonFile(ctx.config.home));
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  ctx.out.result({ stopped: true, pid: info.pid, peerId: info.peerId }, `Stopped the P2P daemon ${info.peerId}`);
}

const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** Resident memory and the share of each isolate's V8 heap (used of reserved) */
function describeMemory(m: NodeMemory): string {
  const isolates: [string, IsolateMemory][] = [["P2P worker", m.worker]];
  if (m.main) isolates.push(["main", m.main]);
  const heaps = isolates.map(([name, i]) => `${name} heap ${mib(i.heapUsed)} of ${mib(i.heapTotal)}`);
  const external = isolates.reduce((n, [, i]) => n + i.external, 0);
  return `${mib(m.rss)} resident; ${heaps.join(", ")}; ${mib(external)} outside the heaps (buffers)`;
}

/** `ggen p2p status` */
export async function statusCommand(ctx: Context): Promise<void> {
  const { node } = await ctx.p2p();
  const s = await node.status({ signal: ctx.signal });
  ctx.out.result(
    { ...s, daemon: node.kind === "daemon" },
    [
      `PeerId:        ${s.peerId}${
        node.kind === "daemon" ? " (daemon)" : " (short-lived node; start a daemon with `ggen p2p start`)"
      }`,
      `Listening:     ${s.listenAddrs.join(", ") || "-"}`,
      `Peers:         ${s.peerCount}`,
      `Routing table: ${s.routingTableSize}`,
      `Provided:      ${s.providedPackages} packages; catalog ${s.catalogSize} versions`,
      `Uptime:        ${(s.uptimeMs / 1000).toFixed(0)} s`,
      `Packages:      ${s.bytesIn} B fetched, ${s.bytesOut} B served`,
      `Network:       ${s.network.bytesIn} B in, ${s.network.bytesOut} B out (every libp2p protocol stream; by protocol: --json)`,
      `Limits:        upload ${s.uploadLimit ? `${s.uploadLimit} B/s` : "unlimited"}, download ${
        s.downloadLimit ? `${s.downloadLimit} B/s` : "unlimited"
      }`,
      `Defences:      ${s.inboundDenied} inbound refused, ${s.inboundPruned} idle connections closed, ${s.routingEntriesRemoved} routing entries removed`,
      ...(s.memory ? [`Memory:        ${describeMemory(s.memory)}`] : []),
    ].join("\n"),
  );
}

/** `ggen p2p peers` */
export async function peersCommand(ctx: Context): Promise<void> {
  const { node } = await ctx.p2p();
  const peers = await node.peers({ signal: ctx.signal });
  if (peers.length === 0) ctx.logger.info("No connected peers");
  for (const p of peers) {
    ctx.out.result(
      p,
      `${p.peerId}  ${p.address}  ${p.latencyMs ?? "-"} ms  ${p.source}  score ${p.score}`,
    );
  }
  for (const banned of await node.banned()) ctx.out.result({ peerId: banned, banned: true }, `${banned}  banned`);
}

/** `ggen p2p ban PEER` */
export async function banCommand(ctx: Context, peerId: string, minutes: number): Promise<void> {
  const { node } = await ctx.p2p();
  await node.ban(peerId, minutes * 60_000);
  ctx.out.result({ peerId, banned: true, minutes }, `Banned ${peerId} for ${minutes} minutes`);
}

/** `ggen p2p unban PEER` */
export async function unbanCommand(ctx: Context, peerId: string): Promise<void> {
  const { node } = await ctx.p2p();
  await node.unban(peerId);
  ctx.out.result({ peerId, banned: false }, `Unbanned ${peerId}`);
}
