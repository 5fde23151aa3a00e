/**
 * `ggen key generate|list|export`, `ggen trust ID KEY`, `ggen owner add|remove|list ID`.
 * @module
 */
import type { Command } from "commander";
import {
  fingerprint,
  fromBase64,
  NotFoundError,
  type OwnersStatement,
  PAYLOAD_TYPES,
  signEnvelope,
  ValidationError,
} from "../core/mod.ts";
import type { ConfigFlags } from "./config.ts";
import type { Context } from "./context.ts";

type Open = (cmd: Command, flags?: ConfigFlags) => Promise<Context>;

/** Keys and pins load when a command uses them */
const trust = () => import("../trust/mod.ts");

/** Register key, trust and owner commands */
export function trustCommands(program: Command, open: Open): void {
  const key = program.command("key").description("publisher signing keys in $GGEN_HOME/keys");
  key.command("generate").description("create an Ed25519 key pair (private key file 0600, never printed)")
    .option("--name <name>", "key name", "default")
    .action(async (o, cmd: Command) => {
      const ctx = await open(cmd);
      const k = await (await trust()).generateKey(ctx.config.home, o.name);
      ctx.out.result(k, `Created key "${k.name}" ${k.keyid}`);
    });
  key.command("list").description("list keys with fingerprints").action(async (_o, cmd: Command) => {
    const ctx = await open(cmd);
    for (const k of await (await trust()).listKeys(ctx.config.home)) ctx.out.result(k, `${k.name}  ${k.keyid}`);
  });
  key.command("export").description("print a public key (base64 raw Ed25519)")
    .option("--name <name>", "key name", "default")
    .action(async (o, cmd: Command) => {
      const ctx = await open(cmd);
      const k = (await (await trust()).listKeys(ctx.config.home)).find((x) => x.name === o.name);
      if (!k) throw new NotFoundError(`No key "${o.name}": create one with \`ggen key generate --name ${o.name}\``);
      ctx.out.result(k, k.publicKey);
    });

  program.command("trust <id> <key>").description("pin KEY (fingerprint SHA256:… or base64 public key) for package ID")
    .action(async (id: string, keyArg: string, _o, cmd: Command) => {
      const ctx = await open(cmd);
      const keyid = keyArg.startsWith("SHA256:") ? keyArg : fingerprint(fromBase64(keyArg));
      const store = await (await trust()).openTrustStore(ctx.config.home);
      const before = store.pinned(id);
      store.pin(id, [keyid]);
      await store.save();
      ctx.out.result(
        { id, keyid, previous: before },
        `Pinned ${keyid} for "${id}"${before.length ? ` (was ${before.join(", ")})` : ""}`,
      );
    });

  const owner = program.command("owner").description("owners of a package on the central registry");
  owner.command("list <id>").action(async (id: string, _o, cmd: Command) => {
    const ctx = await open(cmd);
    const { owners } = await ctx.central().owners(id, { signal: ctx.signal });
    for (const o of owners) ctx.out.result(o, `${o.keyid}  ${o.public_key}`);
  });
  for (const action of ["add", "remove"] as const) {
    owner.command(`${action} <id> <publicKey>`)
      .description(`${action} an owner key (base64 public key, from \`ggen key export\`); signed by your key`)
      .option("--key <name>", "your signing key (an existing owner)", "default")
      .action(async (id: string, publicKey: string, o, cmd: Command) => {
        const ctx = await open(cmd);
        const raw = fromBase64(publicKey);
        if (raw.byteLength !== 32) throw new ValidationError("Invalid public key: expected base64 of 32 bytes");
        ctx.central().assertWritable("change owners");
        // The publish module (and its archive code) loads only for a signed owner change
        const signer = await (await import("./publish.ts")).publisherKey(ctx, o.key);
        const central = ctx.central();
        const { owner_log } = await central.owners(id, { signal: ctx.signal });
        const statement: OwnersStatement = {
          type: "ggen.owners/1",
          package_id: id,
          action,
          keyid: fingerprint(raw),
          public_key: publicKey,
          seq: owner_log.length + 1,
          timestamp: new Date().toISOString(),
        };
        const owners = await central.changeOwners(id, await signEnvelope(PAYLOAD_TYPES.owners, statement, signer), {
          signal: ctx.signal,
        });
        ctx.out.result({ id, owners }, `Owners of "${id}": ${owners.map((x) => x.keyid).join(", ")}`);
      });
  }
}
