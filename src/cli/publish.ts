/**
 * `ggen pack`, `ggen publish`, `ggen yank`.
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { packDirectory } from "../archive/mod.ts";
import {
  checkPackageId,
  checkVersion,
  fromBase64,
  NotFoundError,
  type PackageInfo,
  PAYLOAD_TYPES,
  peekStatement,
  signEnvelope,
  type Signer,
  versionFromManifest,
  type YankStatement,
} from "../core/mod.ts";
import { UsageError } from "./usage.ts";
import { loadOrCreateSigner, signVersion } from "../trust/mod.ts";
import type { Context } from "./context.ts";

/** `ggen pack [DIR]`: writes `<id>-<version>.tar.gz` and prints its sha256; `--list` shows the files only */
export async function packCommand(ctx: Context, dir: string, opts: { out?: string; list?: boolean }): Promise<void> {
  const packed = await packDirectory(dir, { namespace: ctx.config.registry.namespace });
  for (const w of packed.warnings) ctx.logger.warn(w);
  if (opts.list) {
    for (const f of packed.files) ctx.out.result(f, `${String(f.size).padStart(10)}  ${f.path}`);
    ctx.out.line(
      `${packed.manifest.id}@${packed.manifest.version}: ${packed.files.length} files, ${packed.size} bytes packed ` +
        `(sha256:${packed.sha256})`,
    );
    return;
  }
  const file = opts.out ?? `${packed.manifest.id}-${packed.manifest.version}.tar.gz`;
  await Deno.writeFile(file, packed.bytes);
  ctx.out.result(
    { id: packed.manifest.id, version: packed.manifest.version, sha256: packed.sha256, size: packed.size, file },
    `${file}  sha256:${packed.sha256}  ${packed.size} B`,
  );
}

/** Load the publisher key (creating the default one on first use) */
export async function publisherKey(ctx: Context, name = "default"): Promise<Signer> {
  return await loadOrCreateSigner(
    ctx.config.home,
    name,
    (k) => ctx.logger.info(`Created signing key "${k.name}" (${k.keyid}) in ${ctx.config.home}/keys; back it up`),
  );
}

/** Highest publish seq already signed for a package, read from its signatures */
export function highestSeq(info: PackageInfo | undefined): number {
  let max = 0;
  for (const v of info?.versions ?? []) {
    try {
      const s = JSON.parse(new TextDecoder().decode(fromBase64(v.signature?.payload ?? ""))) as { seq?: number };
      if (typeof s.seq === "number" && s.seq > max) max = s.seq;
    } catch {
      // unsigned or malformed: contributes nothing
    }
  }
  return max;
}

/** `ggen publish [DIR]` to the central registry, signed */
export async function publishCommand(ctx: Context, dir: string, opts: { key?: string } = {}): Promise<void> {
  const packed = await packDirectory(resolvePath(dir), { namespace: ctx.config.registry.namespace });
  for (const w of packed.warnings) ctx.logger.warn(w);
  ctx.central().assertWritable("publish");
  const signer = await publisherKey(ctx, opts.key);
  let existing: PackageInfo | undefined;
  try {
    existing = await ctx.central().info(packed.manifest.id, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  // seq only grows: above every earlier signature, and time-based so separate machines agree
  const seq = Math.max(highestSeq(existing) + 1, Date.now());
  const version = await signVersion(versionFromManifest(packed.manifest, packed), signer, seq);
  const bar = ctx.out.progress(`Uploading ${version.id}@${version.version}`, packed.size);
  bar.update(0);
  const published = await ctx.central().publish(packed.bytes, version, { signal: ctx.signal });
  bar.done();
  await ctx.cache.put(ReadableStream.from([packed.bytes]), packed.sha256, { signal: ctx.signal });
  ctx.out.result(
    { ...published, keyid: signer.keyid },
    `Published ${published.id}@${published.version} (sha256:${published.sha256}), signed by ${signer.keyid}`,
  );
}

/** `ggen yank ID@VERSION [--undo]`: signed by an owner's key, like owner changes */
export async function yankCommand(
  ctx: Context,
  spec: string,
  opts: { undo?: boolean; key?: string },
): Promise<void> {
  const at = spec.lastIndexOf("@");
  if (at <= 0) throw new UsageError(`Cannot yank "${spec}": give ID@VERSION, such as ggen yank ${spec}@1.0.0`);
  const id = checkPackageId(spec.slice(0, at), "yank");
  const version = checkVersion(spec.slice(at + 1), "yank");
  ctx.central().assertWritable("yank");
  const signer = await publisherKey(ctx, opts.key);
  // The statement names the package seq it was made at, so the registry can refuse a replay
  const info = await ctx.central().info(id, { signal: ctx.signal });
  const seq = Number(peekStatement(info.metadata_signature)?.seq ?? 0);
  const statement: YankStatement = {
    type: "ggen.yank/1",
    package_id: id,
    version,
    yanked: !opts.undo,
    package_seq: seq,
    timestamp: new Date().toISOString(),
  };
  const envelope = await signEnvelope(PAYLOAD_TYPES.yank, statement, signer);
  await ctx.central().setYanked(id, version, !opts.undo, envelope, { signal: ctx.signal });
  ctx.out.result({ id, version, yanked: !opts.undo }, `${opts.undo ? "Unyanked" : "Yanked"} ${id}@${version}`);
}
