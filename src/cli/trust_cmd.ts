/**
 * `ggen key generate|list|export`, `ggen trust ID KEY`, `ggen owner add|remove|list ID`: their
 * options and help; what each does is in trust_actions.ts, loaded only when one runs.
 * @module
 */
import type { Command } from "commander";
import type { ConfigFlags } from "./config.ts";
import type { Context } from "./context.ts";
import { commands } from "./parts.ts";

type Open = (cmd: Command, flags?: ConfigFlags) => Promise<Context>;

const actions = async () => (await commands()).trustActions;

/** Register key, trust and owner commands */
export function trustCommands(program: Command, open: Open): void {
  const key = program.command("key").description("publisher signing keys in $GGEN_HOME/keys");
  key.command("generate").description("create an Ed25519 key pair (private key file 0600, never printed)")
    .option("--name <name>", "key name", "default")
    .action(async (o, cmd: Command) => await (await actions()).keyGenerate(await open(cmd), o.name));
  key.command("list").description("list keys with fingerprints")
    .action(async (_o, cmd: Command) => await (await actions()).keyList(await open(cmd)));
  key.command("export").description("print a public key (base64 raw Ed25519)")
    .option("--name <name>", "key name", "default")
    .action(async (o, cmd: Command) => await (await actions()).keyExport(await open(cmd), o.name));

  program.command("trust <id> <key>").description("pin KEY (fingerprint SHA256:… or base64 public key) for package ID")
    .action(async (id: string, keyArg: string, _o, cmd: Command) =>
      await (await actions()).pinKey(await open(cmd), id, keyArg)
    );

  const owner = program.command("owner").description("owners of a package on the central registry");
  owner.command("list <id>")
    .action(async (id: string, _o, cmd: Command) => await (await actions()).ownerList(await open(cmd), id));
  for (const action of ["add", "remove"] as const) {
    owner.command(`${action} <id> <publicKey>`)
      .description(`${action} an owner key (base64 public key, from \`ggen key export\`); signed by your key`)
      .option("--key <name>", "your signing key (an existing owner)", "default")
      .action(async (id: string, publicKey: string, o, cmd: Command) =>
        await (await actions()).ownerChange(await open(cmd), action, id, publicKey, o.key)
      );
  }
}
