/**
 * The `p2p` commands (start, stop, status, peers, ban, unban, ui, psk generate): their options
 * and help; what each does is in p2p_actions.ts, loaded only when one runs.
 * @module
 */
import type { Command } from "commander";
import { type ConfigFlags, PEER_ID_PATTERN } from "./config.ts";
import { UsageError } from "./usage.ts";
import type { Context } from "./context.ts";
import { commands } from "./parts.ts";

type Open = (cmd: Command, flags?: ConfigFlags) => Promise<Context>;

const actions = async () => (await commands()).p2pActions;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Default address of the daemon's metrics listener (Prometheus' node-exporter neighbourhood) */
export const DEFAULT_METRICS_LISTEN = "127.0.0.1:9464";

/** Refuse what is not a PeerId before it reaches libp2p (whose message would be about multibase decoders) */
function checkPeerId(peerId: string): void {
  if (!PEER_ID_PATTERN.test(peerId)) {
    throw new UsageError(`"${peerId}" is not a peer id: copy one from \`ggen p2p peers\` (12D3KooW…)`);
  }
}

/** Register the `p2p` commands */
export function p2pCommands(program: Command, open: Open): void {
  const p2p = program.command("p2p").description("the peer-to-peer network");
  p2p.command("start").description("run a long-lived node that serves every package in the local store")
    .option("--listen <multiaddr>", "listen address (repeatable)", collect)
    .option("--bootstrap <multiaddr>", "bootstrap peer /ip4/…/tcp/…/p2p/… (repeatable)", collect)
    .option("--no-mdns", "disable mDNS discovery")
    .option("--metrics [host:port]", `serve Prometheus metrics at /metrics (default ${DEFAULT_METRICS_LISTEN})`)
    .option(
      "--bootstrap-node",
      "run as a bootstrap node: DHT and gossip only, no package store, 1000 connections, metrics on",
    )
    .action(async (o, cmd: Command) => {
      const flags: ConfigFlags = {
        ...(o.listen ? { listen: o.listen } : {}),
        ...(o.bootstrap ? { bootstrap: o.bootstrap } : {}),
        ...(o.mdns === false ? { mdns: false } : {}),
      };
      const metrics = o.metrics === true ? DEFAULT_METRICS_LISTEN : o.metrics as string | undefined;
      await (await actions()).startDaemon(await open(cmd, flags), {
        ...(metrics ? { metrics } : {}),
        ...(o.bootstrapNode ? { bootstrapNode: true } : {}),
      });
    });
  const psk = p2p.command("psk").description("pre-shared keys for private networks");
  psk.command("generate").description("write a new swarm key (mode 0600) for registry.p2p.psk_file")
    .option("--out <file>", "where to write it", "")
    .action(async (o, cmd: Command) => await (await actions()).pskGenerate(await open(cmd), o));
  p2p.command("ui").description("print a one-time link to the daemon's web dashboard (network, transfers, events)")
    .option("--open", "open the link in the default browser")
    .action(async (o: { open?: boolean }, cmd: Command) =>
      await (await commands()).dashboard.dashboardCommand(await open(cmd), o)
    );
  p2p.command("stop").description("stop the daemon of this GGEN_HOME")
    .action(async (_o, cmd: Command) => await (await actions()).stopCommand(await open(cmd)));
  p2p.command("status").description("PeerId, addresses, peers, routing table, provided packages, traffic")
    .action(async (_o, cmd: Command) => await (await actions()).statusCommand(await open(cmd)));
  p2p.command("peers").description("connected peers with address, latency and how they were found")
    .action(async (_o, cmd: Command) => await (await actions()).peersCommand(await open(cmd)));
  p2p.command("ban <peerId>").description("refuse a peer (default one hour)")
    .option("--minutes <n>", "how long", (v) => Number(v), 60)
    .action(async (peerId: string, o, cmd: Command) => {
      checkPeerId(peerId);
      await (await actions()).banCommand(await open(cmd), peerId, o.minutes);
    });
  p2p.command("unban <peerId>").description("accept a banned peer again").action(
    async (peerId: string, _o, cmd: Command) => {
      checkPeerId(peerId);
      await (await actions()).unbanCommand(await open(cmd), peerId);
    },
  );
}
