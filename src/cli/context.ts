/**
 * What every command gets: resolved config, logger, output, cache, the cancellation signal and
 * lazily built registries.
 * @module
 */
import type { Logger } from "../core/logger.ts";
import type { PackageVersion } from "../core/package.ts";
import type { Registry } from "../core/registry.ts";
import { type CentralRegistry, createCentralRegistry } from "../registry/client/mod.ts";
import { createPackageCache, type PackageCache } from "../store/mod.ts";
import type { Config } from "./config.ts";
import type { Output } from "./output.ts";

/** The per-run context of a command */
export interface Context {
  config: Readonly<Config>;
  logger: Logger;
  out: Output;
  cache: PackageCache;
  /** Aborted on SIGINT */
  signal: AbortSignal;
  central(): CentralRegistry;
  /** The registry for the configured mode */
  registry(): Promise<Registry>;
  /** Called after packages were fetched (hybrid mode provides them to peers) */
  afterFetch?(versions: PackageVersion[]): Promise<void>;
  /** Release what the context started */
  close(): Promise<void>;
}

/** Build the context; registries are created on first use */
export function createContext(
  init: { config: Readonly<Config>; logger: Logger; out: Output; signal: AbortSignal },
): Context {
  let central: CentralRegistry | undefined;
  const ctx: Context = {
    ...init,
    cache: createPackageCache({ logger: init.logger }, { home: init.config.home }),
    central() {
      central ??= createCentralRegistry({ logger: init.logger }, {
        url: init.config.registry.centralUrl,
        ...(init.config.registry.token ? { token: init.config.registry.token } : {}),
      });
      return central;
    },
    registry() {
      return Promise.resolve(ctx.central());
    },
    async close() {},
  };
  return ctx;
}
