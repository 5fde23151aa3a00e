/**
 * What `ggen key …`, `ggen trust` and `ggen owner …` do (their options and help are in
 * trust_cmd.ts); part of the commands, loaded only when one runs.
 * @module
 */
import {
  fingerprint,
  fromBase64,
  NotFoundError,
  type OwnersStatement,
  PAYLOAD_TYPES,
  signEnvelope,
  ValidationError,
} from "../core/mod.ts";
import { generateKey, listKeys, openTrustStore } from "../trust/mod.ts";
import type { Context } from "./context.ts";
import { publisherKey } from "./publish.ts";

/** `ggen key generate` */
export async function keyGenerate(ctx: Context, name: string): Promise<void> {
  const k = await generateKey(ctx.config.home, name);
  ctx.out.result(k, `Created key "${k.name}" ${k.keyid}`);
}

/** `ggen key list` */
export async function keyList(ctx: Context): Promise<void> {
  for (const k of await listKeys(ctx.config.home)) ctx.out.result(k, `${k.name}  ${k.keyid}`);
}

/** `ggen key export` */
export async function keyExport(ctx: Context, name: string): Promise<void> {
  const k = (await listKeys(ctx.config.home)).find((x) => x.name === name);
  if (!k) throw new NotFoundError(`No key "${name}": create one with \`ggen key generate --name ${name}\``);
  ctx.out.result(k, k.publicKey);
}

/** `ggen trust ID KEY`: KEY is a fingerprint (SHA256:…) or a base64 public key */
export async function pinKey(ctx: Context, id: string, keyArg: string): Promise<void> {
  const keyid = keyArg.startsWith("SHA256:") ? keyArg : fingerprint(fromBase64(keyArg));
  const store = await openTrustStore(ctx.config.home);
  const before = store.pinned(id);
  store.pin(id, [keyid]);
  await store.save();
  ctx.out.result(
    { id, keyid, previous: before },
    `Pinned ${keyid} for "${id}"${before.length ? ` (was ${before.join(", ")})` : ""}`,
  );
}

/** `ggen owner list ID` */
export async function ownerList(ctx: Context, id: string): Promise<void> {
  const { owners } = await ctx.central().owners(id, { signal: ctx.signal });
  for (const o of owners) ctx.out.result(o, `${o.keyid}  ${o.public_key}`);
}

/** `ggen owner add|remove ID KEY`, signed by the key named `keyName` (an existing owner's) */
export async function ownerChange(
  ctx: Context,
  action: "add" | "remove",
  id: string,
  publicKey: string,
  keyName: string,
): Promise<void> {
  const raw = fromBase64(publicKey);
  if (raw.byteLength !== 32) throw new ValidationError("Invalid public key: expected base64 of 32 bytes");
  ctx.central().assertWritable("change owners");
  const signer = await publisherKey(ctx, keyName);
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
}
