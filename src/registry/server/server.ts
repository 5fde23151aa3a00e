/**
 * The central registry server on `Deno.serve`, over the embedded SQLite + files storage.
 * @module
 */
import { join } from "node:path";
import type { Logger, Signer } from "../../core/mod.ts";
import { loadOrCreateKeyFiles } from "../../store/mod.ts";
import { createFsBlobStore } from "./blobs.ts";
import { openSqliteMetadata } from "./db.ts";
import { openPostgresMetadata } from "./pg.ts";
import { createS3BlobStore, parseS3Url } from "./s3_blobs.ts";
import { createHandler, type HandlerInit } from "./handler.ts";
import { type HttpServerInit, startHttpServer } from "./http_server.ts";
import type { BlobStore, MetadataStore } from "./storage.ts";

/** Options for {@link startRegistryServer} */
export interface RegistryServerInit
  extends HandlerInit, Pick<HttpServerInit, "keepAliveTimeoutMs" | "maxConnections" | "maxConnectionsPerIp"> {
  /** Data directory holding `registry.db` (with SQLite), `blobs/` and the registry key */
  dataDir: string;
  /** "sqlite" (the default) or a PostgreSQL URL shared by several instances */
  database?: string;
  /** "file" (the default) or an `s3://` URL shared by several instances */
  blobs?: string;
  /** @default "127.0.0.1" */
  /** Address the server listens on */
  hostname?: string;
  /** 0 picks a free port. @default 8787 */
  port?: number;
  /** Deadline for a client's request headers. @default 10 s */
  headerTimeoutMs?: number;
}

/** A running registry server */
export interface RegistryServer {
  /** Base URL */
  readonly url: string;
  /** TCP port */
  readonly port: number;
  /** The metadata store */
  readonly metadata: MetadataStore;
  /** The blob store */
  readonly blobs: BlobStore;
  /** The registry's signing key */
  readonly registryKey: Signer;
  /** Wait until the server stopped */
  readonly finished: Promise<void>;
  /** Connections open now */
  openConnections(): number;
  /** Stop, releasing everything it started */
  stop(): Promise<void>;
}

/** Open the default storage in `dataDir` */
export async function openRegistryStorage(
  dataDir: string,
  storage: { database?: string; blobs?: string } = {},
): Promise<{ metadata: MetadataStore; blobs: BlobStore }> {
  await Deno.mkdir(dataDir, { recursive: true });
  const database = storage.database ?? "sqlite";
  const metadata = database === "sqlite"
    ? openSqliteMetadata(join(dataDir, "registry.db"))
    : await openPostgresMetadata(database);
  const blobs = storage.blobs && storage.blobs !== "file"
    ? await createS3BlobStore(parseS3Url(storage.blobs, "storage.blobs"))
    : await createFsBlobStore(join(dataDir, "blobs"));
  return { metadata, blobs };
}

/** Start serving; resolves once listening */
export async function startRegistryServer(
  components: { logger: Logger },
  init: RegistryServerInit,
): Promise<RegistryServer> {
  const { metadata, blobs } = await openRegistryStorage(init.dataDir, {
    ...(init.database ? { database: init.database } : {}),
    ...(init.blobs ? { blobs: init.blobs } : {}),
  });
  // A crash between writing a blob and committing its row leaves an orphan blob: collect it
  let orphans = 0;
  for (const sha256 of await blobs.list()) {
    if (!await metadata.isBlobReferenced(sha256)) {
      await blobs.delete(sha256);
      orphans++;
    }
  }
  if (orphans) {
    components.logger.child("registry").warn(`Removed ${orphans} orphan blobs left by an interrupted publish`);
  }
  const registryKey = await loadOrCreateKeyFiles(
    join(init.dataDir, "registry.key"),
    join(init.dataDir, "registry.pub"),
  );
  // Known once listening (port 0 picks one): /index.json reads it per request
  let listenUrl = "";
  const handler = createHandler({ metadata, blobs, logger: components.logger, registryKey }, {
    ...init,
    publicUrl: init.publicUrl ?? (() => listenUrl),
  });
  const http = await startHttpServer(components, {
    hostname: init.hostname ?? "127.0.0.1",
    port: init.port ?? 8787,
    ...(init.headerTimeoutMs ? { headerTimeoutMs: init.headerTimeoutMs } : {}),
    ...(init.keepAliveTimeoutMs ? { keepAliveTimeoutMs: init.keepAliveTimeoutMs } : {}),
    ...(init.maxConnections ? { maxConnections: init.maxConnections } : {}),
    ...(init.maxConnectionsPerIp ? { maxConnectionsPerIp: init.maxConnectionsPerIp } : {}),
  }, handler);
  const finished = Promise.withResolvers<void>();
  const addr = { hostname: http.hostname, port: http.port };
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  listenUrl = `http://${host}:${addr.port}`;
  let stopped = false;
  return {
    url: listenUrl,
    port: addr.port,
    metadata,
    blobs,
    registryKey,
    finished: finished.promise,
    openConnections: () => http.openConnections(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await http.close();
      await metadata.close();
      finished.resolve();
    },
  };
}
