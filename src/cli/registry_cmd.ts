/**
 * `ggen registry serve` and `ggen registry token create|revoke`.
 * @module
 */
import { join, resolve as resolvePath } from "node:path";
import { aborted, ConfigError, ConflictError, NotFoundError, readAllLimited, ValidationError } from "../core/mod.ts";
import { UsageError } from "./usage.ts";
import {
  createToken,
  defaultServerConfig,
  describeLimit,
  hashToken,
  migrateRegistry,
  openRegistryStorage,
  parseServerConfig,
  SERVER_CONFIG_FILE,
  type ServerConfig,
  startRegistryServer,
  TOKEN_SCOPES,
  type TokenScope,
} from "../registry/server/mod.ts";
import type { Context } from "./context.ts";

/**
 * The server settings: `--config FILE`, else `<data>/registry.toml` when it exists, else the
 * defaults; and which file they came from
 */
export async function loadServerConfig(
  opts: { data: string; config?: string },
): Promise<{ config: ServerConfig; file?: string }> {
  const file = opts.config ? resolvePath(opts.config) : join(opts.data, SERVER_CONFIG_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (!opts.config && err instanceof Deno.errors.NotFound) return { config: defaultServerConfig() };
    throw new ConfigError(`Cannot read the registry configuration ${file}: ${(err as Error).message}`, { cause: err });
  }
  return { config: parseServerConfig(text, file), file };
}

/** A database URL without its credentials, for messages */
function redactUrl(url: string): string {
  const u = new URL(url);
  u.password = "";
  return u.toString();
}

/** `ggen registry serve`: runs until SIGINT; `host`/`port` given on the command line override the file */
export async function serveCommand(
  ctx: Context,
  opts: { host?: string; port?: number; data: string; config?: string },
): Promise<void> {
  const { config, file } = await loadServerConfig(opts);
  const server = await startRegistryServer({ logger: ctx.logger }, {
    dataDir: opts.data,
    hostname: opts.host ?? config.host,
    port: opts.port ?? config.port,
    maxTarballBytes: config.maxTarballBytes,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    rateLimits: config.rateLimits,
    database: config.storage.database,
    blobs: config.storage.blobs,
  });
  ctx.logger.info(
    file ? `Configuration: ${file}` : `Configuration: defaults (no ${join(opts.data, SERVER_CONFIG_FILE)})`,
  );
  ctx.out.result(
    { url: server.url, data: opts.data, config: file ?? null },
    `Registry listening on ${server.url} (data in ${opts.data})`,
  );
  await aborted(ctx.signal);
  await server.stop();
}

/** `ggen registry config check [FILE]`: validate a file and show what it sets */
export async function configCheckCommand(
  ctx: Context,
  file: string | undefined,
  opts: { data: string; config?: string },
): Promise<void> {
  const path = file ?? opts.config;
  const { config, file: used } = await loadServerConfig({ data: opts.data, ...(path ? { config: path } : {}) });
  const limits = Object.fromEntries(
    (["newPackage", "newVersion", "search", "download"] as const).map((k) => [k, describeLimit(config.rateLimits[k])]),
  );
  ctx.out.result(
    { ok: true, file: used ?? null, ...config, limits },
    [
      `${used ?? "defaults (no file)"}: valid`,
      `  listen ${config.host}:${config.port}, tarballs up to ${config.maxTarballBytes} bytes`,
      ...Object.entries(limits).map(([k, v]) => `  limit ${k}: ${v}`),
      `  storage: ${config.storage.database} + ${config.storage.blobs} in the data directory`,
    ].join("\n"),
  );
}

/** `ggen registry token create` */
export async function tokenCreateCommand(
  ctx: Context,
  opts: { data: string; config?: string; name?: string; scopes?: string; prefix?: string; expiresDays?: number },
): Promise<void> {
  // The same file `serve` reads, so a token for a PostgreSQL-backed registry lands in PostgreSQL
  const { config } = await loadServerConfig(opts);
  const scopes = opts.scopes?.split(",").map((s) => s.trim()) as TokenScope[] | undefined;
  for (const s of scopes ?? []) {
    if (!TOKEN_SCOPES.includes(s)) {
      throw new ValidationError(`Invalid scope "${s}": choose from ${TOKEN_SCOPES.join(", ")}`);
    }
  }
  const { metadata } = await openRegistryStorage(opts.data, config.storage);
  ctx.logger.info(
    `Creating a token in the registry at ${
      config.storage.database === "sqlite" ? resolvePath(opts.data) : redactUrl(config.storage.database)
    }`,
  );
  try {
    const { token, row } = await createToken(metadata, {
      ...(opts.name ? { name: opts.name } : {}),
      ...(scopes ? { scopes } : {}),
      ...(opts.prefix ? { idPrefix: opts.prefix } : {}),
      ...(opts.expiresDays ? { expiresInDays: opts.expiresDays } : {}),
    });
    ctx.out.result(
      {
        token,
        token_id: tokenId(row.hash),
        name: row.name,
        scopes: row.scopes,
        id_prefix: row.id_prefix,
        expires_at: row.expires_at,
      },
      token,
    );
    ctx.logger.info(`Token id ${tokenId(row.hash)} (revoke with: ggen registry token revoke ${tokenId(row.hash)})`);
  } finally {
    await metadata.close();
  }
}

/** The public id of a token: the start of its stored hash, safe to show and to type */
export function tokenId(hash: string): string {
  return hash.slice(0, 16);
}

/**
 * `ggen registry token revoke TOKEN_ID` or `--stdin` (the secret on standard input). A secret on
 * the command line would show in `ps` and the shell history, so it is refused.
 */
export async function tokenRevokeCommand(
  ctx: Context,
  idOrNothing: string | undefined,
  opts: { data: string; config?: string; stdin?: boolean },
): Promise<void> {
  const { config } = await loadServerConfig(opts);
  let hash: string | undefined;
  let idPrefix: string | undefined;
  if (opts.stdin) {
    const secret = new TextDecoder().decode(
      await readAllLimited(Deno.stdin.readable, {
        limit: 4096,
        tooLarge: () => new ValidationError("Cannot revoke: more than 4096 bytes on stdin"),
      }),
    ).trim();
    if (!secret) throw new ValidationError("Cannot revoke: no token on stdin");
    hash = hashToken(secret);
  } else if (idOrNothing && /^ggen_/.test(idOrNothing)) {
    throw new UsageError(
      "Refusing a token secret on the command line (visible in `ps` and shell history): pass its id " +
        "(printed by `token create`), or pipe the secret: ggen registry token revoke --stdin < file",
    );
  } else if (idOrNothing && /^[0-9a-f]{8,64}$/.test(idOrNothing)) {
    idPrefix = idOrNothing;
  } else {
    throw new UsageError("Give the token id printed by `ggen registry token create`, or --stdin");
  }
  if (config.storage.database === "sqlite") {
    try {
      await Deno.stat(join(opts.data, "registry.db"));
    } catch {
      throw new NotFoundError(
        `No registry at ${resolvePath(opts.data)}: give the --data directory \`registry serve\` uses`,
      );
    }
  }
  const { metadata } = await openRegistryStorage(opts.data, config.storage);
  try {
    if (idPrefix) {
      const matches = await metadata.findTokensByHashPrefix(idPrefix);
      if (matches.length === 0) throw new NotFoundError(`Cannot revoke: no token with id ${idPrefix}`);
      if (matches.length > 1) throw new UsageError(`Token id ${idPrefix} is ambiguous: give more characters`);
      hash = matches[0]!.hash;
    }
    if (!await metadata.revokeToken(hash!)) throw new NotFoundError("Cannot revoke: unknown token");
    ctx.out.result({ revoked: true, token_id: tokenId(hash!) }, `Token ${tokenId(hash!)} revoked`);
  } finally {
    await metadata.close();
  }
}

/**
 * `ggen registry migrate --from DIR --to registry.toml [--data DIR]`: an embedded registry (SQLite
 * and files in DIR) into the storage the file names; the registry key goes along, so clients that
 * pinned it keep trusting the new instances
 */
export async function migrateCommand(ctx: Context, opts: { from: string; to: string; data?: string }): Promise<void> {
  const from = resolvePath(opts.from);
  try {
    await Deno.stat(join(from, "registry.db"));
  } catch {
    throw new NotFoundError(`No registry at ${from}: give the --data directory the old \`registry serve\` used`);
  }
  const { config, file } = await loadServerConfig({ data: opts.data ?? from, config: opts.to });
  const targetData = resolvePath(opts.data ?? from);
  if (targetData === from && config.storage.database === "sqlite" && config.storage.blobs === "file") {
    throw new UsageError(`${file} names the same storage as ${from}: point it at PostgreSQL and/or S3, or give --data`);
  }
  await Deno.mkdir(targetData, { recursive: true });
  for (const name of ["registry.key", "registry.pub"]) {
    if (targetData === from) break;
    try {
      await Deno.copyFile(join(from, name), join(targetData, name));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  const source = await openRegistryStorage(from);
  const target = await openRegistryStorage(targetData, config.storage);
  try {
    const progress = ctx.out.progress("migrating packages");
    const report = await migrateRegistry(source, target, {
      signal: ctx.signal,
      onPackage: (_id, done) => progress.update(done),
    });
    progress.done();
    const text = [
      `Packages: ${report.packages.imported} imported, ${report.packages.unchanged} already there; ` +
      `${report.versions} versions`,
      `Blobs: ${report.blobs.copied} copied (${report.blobs.bytes} bytes, each verified), ${report.blobs.present} already there`,
      `Tokens: ${report.tokens.imported} imported, ${report.tokens.present} already there`,
      report.mismatches.length
        ? `MISMATCHES: ${report.mismatches.join(", ")}`
        : "Compared: every package (seq, owners, signed versions) and every blob match",
    ].join("\n");
    ctx.out.result({ ...report, from, to: file, data: targetData }, text);
    if (report.mismatches.length) {
      throw new ConflictError(`The migration left ${report.mismatches.length} differences: run it again`);
    }
  } finally {
    await source.metadata.close();
    await target.metadata.close();
  }
}
