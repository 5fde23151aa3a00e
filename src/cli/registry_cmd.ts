/**
 * `ggen registry serve` and `ggen registry token create|revoke`.
 * @module
 */
import { ValidationError } from "../core/errors.ts";
import {
  createToken,
  hashToken,
  openRegistryStorage,
  startRegistryServer,
  TOKEN_SCOPES,
  type TokenScope,
} from "../registry/server/mod.ts";
import type { Context } from "./context.ts";

/** `ggen registry serve`: runs until SIGINT */
export async function serveCommand(
  ctx: Context,
  opts: { host: string; port: number; data: string },
): Promise<void> {
  const server = await startRegistryServer({ logger: ctx.logger }, {
    dataDir: opts.data,
    hostname: opts.host,
    port: opts.port,
  });
  ctx.out.result({ url: server.url, data: opts.data }, `Registry listening on ${server.url} (data in ${opts.data})`);
  const stopped = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
  await stopped;
  await server.stop();
}

/** `ggen registry token create` */
export async function tokenCreateCommand(
  ctx: Context,
  opts: { data: string; name?: string; scopes?: string; prefix?: string; expiresDays?: number },
): Promise<void> {
  const scopes = opts.scopes?.split(",").map((s) => s.trim()) as TokenScope[] | undefined;
  for (const s of scopes ?? []) {
    if (!TOKEN_SCOPES.includes(s)) {
      throw new ValidationError(`Invalid scope "${s}": choose from ${TOKEN_SCOPES.join(", ")}`);
    }
  }
  const { metadata } = await openRegistryStorage(opts.data);
  try {
    const { token, row } = createToken(metadata, {
      ...(opts.name ? { name: opts.name } : {}),
      ...(scopes ? { scopes } : {}),
      ...(opts.prefix ? { idPrefix: opts.prefix } : {}),
      ...(opts.expiresDays ? { expiresInDays: opts.expiresDays } : {}),
    });
    ctx.out.result(
      { token, name: row.name, scopes: row.scopes, id_prefix: row.id_prefix, expires_at: row.expires_at },
      token,
    );
  } finally {
    metadata.close();
  }
}

/** `ggen registry token revoke TOKEN` */
export async function tokenRevokeCommand(ctx: Context, token: string, opts: { data: string }): Promise<void> {
  const { metadata } = await openRegistryStorage(opts.data);
  try {
    if (!metadata.revokeToken(hashToken(token))) throw new ValidationError("Cannot revoke: unknown token");
    ctx.out.result({ revoked: true }, "Token revoked");
  } finally {
    metadata.close();
  }
}
