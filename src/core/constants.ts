/**
 * Defaults shared by every part of ggen. Units are in the names.
 * @module
 */

export const SECOND = 1000;
/** Milliseconds in a minute */
export const MINUTE = 60 * SECOND;
/** Bytes in a KiB */
export const KIB = 1024;
/** Bytes in a MiB */
export const MIB = 1024 * KIB;

/** The version of ggen itself */
export const GGEN_VERSION = "0.3.0";
/** The namespace ids of ggen's packages go under when their name is not an id already */
export const DEFAULT_PACKAGE_NAMESPACE = "io.ggen";
/** Default central registry port */
export const DEFAULT_REGISTRY_PORT = 8787;
/** Default central registry URL used when nothing else is configured */
export const DEFAULT_CENTRAL_URL = `http://127.0.0.1:${DEFAULT_REGISTRY_PORT}`;
/** Largest tarball the registry accepts (crates.io uses 10 MB) */
export const DEFAULT_MAX_TARBALL_BYTES = 10 * MIB;
/** Largest unpacked size of an archive */
export const DEFAULT_MAX_UNPACKED_BYTES = 512 * MIB;
/** Largest number of entries in an archive */
export const DEFAULT_MAX_ARCHIVE_ENTRIES = 10_000;
/** Longest path inside an archive */
export const MAX_ARCHIVE_PATH_LENGTH = 255;
/** Fixed mtime for packed entries, so packing is deterministic (2000-01-01T00:00:00Z) */
export const PACK_MTIME = new Date(Date.UTC(2000, 0, 1));

/** HTTP request timeout towards the central registry */
export const DEFAULT_HTTP_TIMEOUT_MS = 10 * SECOND;
/** How many times a timed-out central request is retried before falling back */
export const CENTRAL_TIMEOUT_RETRIES = 3;
/** First backoff between retries; doubles each time */
export const CENTRAL_RETRY_BACKOFF_MS = 200;

/** The project's install directory, relative to the project root */
export const PROJECT_DIR = ".ggen";
/** The lockfile name, in the project root */
export const LOCKFILE_NAME = "ggen.lock";
/** The running daemon's address and secret, in `$GGEN_HOME` (mode 0600) */
export const DAEMON_FILE_NAME = "daemon.json";
/** The manifest file name, in a package root */
export const MANIFEST_NAME = "ggen.toml";
/** Written last into an installed package directory; its presence means complete */
export const INSTALL_MARKER = ".ggen-complete";

/** Kademlia protocol id of the ggen DHT */
export const DHT_PROTOCOL = "/ggen/kad/1.0.0";
/** Request-response protocol that streams package bytes */
export const FETCH_PROTOCOL = "/ggen/fetch/1.0.0";
/** Request-response protocol that searches a peer's catalog */
export const CATALOG_PROTOCOL = "/ggen/catalog/1.0.0";
/** Protocol id of re-shared registry documents: request `{package_id}`, answer `{ok, length}` then the JSON bytes */
export const METADATA_PROTOCOL = "/ggen/metadata/1.0.0";
/** Largest registry document a peer serves or accepts (central's own cap) */
export const MAX_SHARED_DOCUMENT_BYTES = 8 * 1024 * 1024;
/** Gossipsub topic for publish announcements */
export const ANNOUNCE_TOPIC = "ggen/packages/announce";
/** DHT record key namespace: `ggen://{id}/{version}` is stored under `/ggen/{id}/{version}` */
export const RECORD_NAMESPACE = "ggen";
/** Largest accepted DHT record or announcement value */
export const MAX_RECORD_BYTES = 16 * KIB;
/**
 * `[registry.p2p.security] min_sources` unless configured: distinct peers that must vouch for a
 * version whose publisher is not pinned yet
 */
export const DEFAULT_MIN_SOURCES = 3;
/**
 * What a peer reads from its store and sends at a time. noise splits it into 64 KiB messages; a
 * quarter of the reads, sends and copies of 64 KiB chunks (100 MiB between two in-process nodes:
 * 640-860 ms against 700-900)
 */
export const FETCH_CHUNK_BYTES = 256 * KIB;
/** A peer that sends nothing for this long during a transfer is treated as stalled */
export const DEFAULT_FETCH_STALL_MS = 5 * SECOND;
/** Slowest average rate a P2P transfer may keep after its grace period (slow-drip defence) */
export const MIN_FETCH_BYTES_PER_SECOND = 16 * KIB;
/** Grace period of a P2P transfer before its average rate is judged */
export const FETCH_RATE_GRACE_MS = 5 * SECOND;
/** Default timeout of one request to the P2P worker */
export const DEFAULT_P2P_REQUEST_TIMEOUT_MS = 30 * SECOND;
/** How often a node re-provides the packages in its store */
export const REPROVIDE_INTERVAL_MS = 10 * MINUTE;
/** Most providers tried for one package */
export const MAX_PROVIDERS_PER_KEY = 20;
