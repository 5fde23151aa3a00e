/**
 * Real `ggen p2p start` daemons as subprocesses on loopback, each with its own GGEN_HOME.
 * @module
 */
import { join } from "node:path";
import { ggen, jsonLines, MAIN, runFlags } from "./helpers.ts";
import { silentLogger } from "../src/core/logger.ts";
import { launcherEnv } from "../src/core/embedded.ts";
import type { PackageVersion } from "../src/core/package.ts";
import { type Announcement, announcementOf, type P2PNode } from "../src/p2p/mod.ts";
import type { Signer } from "../src/core/envelope.ts";
import { signVersion } from "../src/trust/mod.ts";
import { createP2PRegistry } from "../src/registry/client/mod.ts";
import { createPackageCache, type PackageCache } from "../src/store/mod.ts";
import { ensureCached } from "../src/cli/install.ts";
import { createOutput } from "../src/cli/output.ts";

/** A running daemon process */
export interface Daemon {
  home: string;
  peerId: string;
  /** Dialable address with /p2p/ suffix */
  addr: string;
  child: Deno.ChildProcess;
  /** The first line `p2p start --json` printed */
  info: Record<string, unknown>;
  stop(): Promise<void>;
  kill(signal: Deno.Signal): void;
}

/** Start `ggen p2p start` and wait for its first JSON line */
export async function startDaemon(
  home: string,
  opts: { bootstrap?: string[]; env?: Record<string, string>; args?: string[]; main?: string } = {},
): Promise<Daemon> {
  await Deno.mkdir(home, { recursive: true });
  const args = [
    "run",
    "--quiet",
    ...runFlags(["p2p", "start"]),
    opts.main ?? MAIN,
    "p2p",
    "start",
    "--json",
    "--listen",
    "/ip4/127.0.0.1/tcp/0",
  ];
  for (const b of opts.bootstrap ?? []) args.push("--bootstrap", b);
  args.push(...opts.args ?? []);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: {
      // What the launcher adds for a daemon
      ...launcherEnv(["p2p", "start"]),
      GGEN_HOME: home,
      GGEN_MDNS: "0",
      NO_COLOR: "1",
      GGEN_P2P_MAX_CONN_PER_IP: "1000",
      GGEN_P2P_MAX_ROUTING_PER_IP: "1000",
      ...opts.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrDone = child.stderr.pipeTo(
    await Deno.open(join(home, "daemon.log"), { create: true, write: true, append: true })
      .then((f) => f.writable),
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = AbortSignal.timeout(60_000);
  while (!buf.includes("\n")) {
    if (deadline.aborted) {
      child.kill("SIGKILL");
      throw new Error(`daemon in ${home} did not start`);
    }
    const { done, value } = await reader.read();
    if (done) throw new Error(`daemon in ${home} exited: ${await Deno.readTextFile(join(home, "daemon.log"))}`);
    buf += value;
  }
  const info = JSON.parse(buf.slice(0, buf.indexOf("\n"))) as { peer_id: string; listen_addrs: string[] };
  const drain = (async () => {
    try {
      while (!(await reader.read()).done) { /* keep draining stdout */ }
    } catch { /* closed */ }
  })();
  let stopped = false;
  return {
    home,
    peerId: info.peer_id,
    info,
    addr: info.listen_addrs.find((a) => a.startsWith("/ip4/127.0.0.1/"))!,
    child,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGINT");
      } catch { /* already exited */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await drain;
      await stderrDone.catch(() => {});
    },
  };
}

/** Download `version` from peers through `node` into a fresh cache under `cacheHome`, verified */
export async function fetchFromPeers(
  node: P2PNode,
  version: PackageVersion,
  cacheHome: string,
  opts: { stallMs?: number } = {},
): Promise<{ path: string; source: string; cache: PackageCache }> {
  const registry = createP2PRegistry({ logger: silentLogger, node }, {
    peerId: "",
    ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
  });
  const cache = createPackageCache({ logger: silentLogger }, { home: cacheHome });
  const ctx = { logger: silentLogger, out: createOutput({ json: true }), signal: new AbortController().signal };
  return { ...await ensureCached(ctx, registry, cache, version), cache };
}

/**
 * A publisher-signed announcement of `id@1.0.0` as peer `peerId` would gossip it: announcements
 * must carry a valid publisher signature over exactly what they name.
 */
export async function signedAnnouncement(
  signer: Signer,
  id: string,
  peerId: string,
  o: { sha256?: string; size?: number; description?: string } = {},
): Promise<Announcement> {
  const v = await signVersion(
    {
      id,
      version: "1.0.0",
      name: id,
      description: o.description ?? `announcement of ${id}`,
      tags: [],
      keywords: [],
      sha256: o.sha256 ?? "a".repeat(64),
      size: o.size ?? 1,
      dependencies: {},
      yanked: false,
      published_at: new Date().toISOString(),
    },
    signer,
    Date.now(),
  );
  return announcementOf(v, peerId);
}

/**
 * Wait (bounded: 100 polls 200 ms apart) until the daemon of `home` has heard an announcement,
 * as `p2p status` counts its catalog; the catalog's size, 0 when nothing came
 */
export async function waitForCatalog(home: string, opts: { env?: Record<string, string>; main?: string } = {}) {
  for (let i = 0; i < 100; i++) {
    const s = await ggen(["p2p", "status", "--json"], { home, ...opts });
    const heard = jsonLines<{ catalog_size: number }>(s.stdout)[0]?.catalog_size ?? 0;
    if (heard > 0) return heard;
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}
