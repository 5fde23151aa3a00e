/**
 * `ggen config get KEY`: the value a command would use and where it came from (an environment
 * variable, the config file, or the default), like `git config --show-origin`.
 * @module
 */
import type { Config } from "./config.ts";

/** The environment variable that overrides each key, as loadConfig reads them */
const ENV_OF: Record<string, string> = {
  "registry.mode": "GGEN_MODE",
  "registry.central_url": "GGEN_REGISTRY",
  "registry.token": "GGEN_TOKEN",
  "registry.namespace": "GGEN_NAMESPACE",
  "registry.timeout_secs": "GGEN_TIMEOUT_SECS",
  "registry.p2p.listen_addrs": "GGEN_LISTEN",
  "registry.p2p.bootstrap": "GGEN_BOOTSTRAP",
  "registry.p2p.mdns": "GGEN_MDNS",
  "registry.p2p.psk_file": "GGEN_PSK_FILE",
  "registry.p2p.tuning.max_connections_per_ip": "GGEN_P2P_MAX_CONN_PER_IP",
  "registry.p2p.tuning.max_routing_entries_per_ip": "GGEN_P2P_MAX_ROUTING_PER_IP",
  "registry.p2p.tuning.upload_limit": "GGEN_UPLOAD_LIMIT",
  "registry.p2p.tuning.download_limit": "GGEN_DOWNLOAD_LIMIT",
  "registry.p2p.tuning.request_timeout_secs": "GGEN_P2P_TIMEOUT_SECS",
  "registry.p2p.security.min_sources": "GGEN_MIN_SOURCES",
};

/** The value in effect for each key, read from the resolved configuration */
const EFFECTIVE: Record<string, (c: Config) => unknown> = {
  "registry.mode": (c) => c.registry.mode,
  "registry.central_url": (c) => c.registry.centralUrl,
  "registry.token": (c) => c.registry.token ? "(set, not shown)" : undefined,
  "registry.timeout_secs": (c) => c.registry.timeoutMs / 1000,
  "registry.public_key": (c) => c.registry.publicKey,
  "registry.namespace": (c) => c.registry.namespace,
  "registry.p2p.enabled": (c) => c.p2p.enabled,
  "registry.p2p.private": (c) => c.p2p.private,
  "registry.p2p.psk_file": (c) => c.p2p.pskFile,
  "registry.p2p.mdns": (c) => c.p2p.mdns,
  "registry.p2p.listen_addrs": (c) => c.p2p.listenAddrs,
  "registry.p2p.bootstrap": (c) => c.p2p.bootstrap.map((b) => b.address),
  "registry.p2p.tuning.max_connections": (c) => c.p2p.maxConnections,
  "registry.p2p.tuning.max_connections_per_ip": (c) => c.p2p.maxConnectionsPerIp,
  "registry.p2p.tuning.max_routing_entries_per_ip": (c) => c.p2p.maxRoutingEntriesPerIp,
  "registry.p2p.tuning.upload_limit": (c) => c.p2p.uploadLimit,
  "registry.p2p.tuning.download_limit": (c) => c.p2p.downloadLimit,
  "registry.p2p.tuning.dht_replication_factor": (c) => c.p2p.dhtReplicationFactor,
  "registry.p2p.tuning.request_timeout_secs": (c) => c.p2p.requestTimeoutSecs,
  "registry.p2p.security.allow_peers": (c) => c.p2p.allowPeers,
  "registry.p2p.security.trusted_publishers": (c) => c.p2p.trustedPublishers,
  "registry.p2p.security.min_sources": (c) => c.p2p.minSources,
  "registry.p2p.max_package_bytes": (c) => c.p2p.maxPackageBytes,
  "registry.p2p.security.deny_peers": (c) => c.p2p.denyPeers,
  "registry.p2p.security.allow_ranges": (c) => c.p2p.allowRanges,
  "registry.p2p.security.deny_ranges": (c) => c.p2p.denyRanges,
};

/** One key explained */
export interface ExplainedKey {
  /** The key, as in the config file */
  key: string;
  /** The value in effect (null when unset and without a default) */
  value: unknown;
  /** Where it came from: "env GGEN_…", "file <path>" or "default" */
  origin: string;
}

/** The value of `key` in effect for `config`, with its origin; `file` is the config file's flat keys */
export function explainKey(config: Readonly<Config>, file: Record<string, unknown>, key: string): ExplainedKey {
  const env = ENV_OF[key];
  const origin = env && Deno.env.get(env) ? `env ${env}` : key in file ? `file ${config.configFile}` : "default";
  return { key, value: EFFECTIVE[key]?.(config) ?? null, origin };
}
