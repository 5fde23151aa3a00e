/**
 * Configuration: flag > `GGEN_*` environment > `$GGEN_HOME/config.toml` > defaults. The only
 * file that reads `Deno.env` or the config file. Every key is checked; errors name the key.
 * @module
 */
import { join, resolve as resolvePath } from "node:path";
import { parse as parseToml } from "smol-toml";
import {
  ConfigError,
  DEFAULT_CENTRAL_URL,
  DEFAULT_MAX_TARBALL_BYTES,
  DEFAULT_MIN_SOURCES,
  DEFAULT_PACKAGE_NAMESPACE,
  isValidPackageId,
  type LogLevel,
} from "../core/base.ts";

/** A libp2p PeerId as text: base58btc Ed25519 (12D3KooW…) or RSA (Qm…) */
export const PEER_ID_PATTERN = /^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,50}$/;

const MULTIADDR_TCP = /^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/[1-9A-HJ-NP-Za-km-z]+)?$/;

/**
 * A bootstrap address: a TCP multiaddr that names its peer (`/p2p/<id>`), so the connection can
 * be authenticated.
 * @throws {ConfigError} saying what a valid one looks like
 */
function checkDialable(address: string, where: string): string {
  if (!MULTIADDR_TCP.test(address) || !/\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(address)) {
    throw new ConfigError(
      `Invalid ${where} "${address}": expected a multiaddr with the peer's id, such as ` +
        "/ip4/192.168.1.10/tcp/4001/p2p/12D3KooW… (`ggen p2p status` on that machine prints it)",
    );
  }
  return address;
}

/**
 * A listen address: a TCP multiaddr.
 * @throws {ConfigError} saying what a valid one looks like
 */
function checkListen(address: string): void {
  if (!MULTIADDR_TCP.test(address)) {
    throw new ConfigError(
      `Invalid --listen "${address}": expected a multiaddr such as /ip4/0.0.0.0/tcp/4001 (not host:port)`,
    );
  }
}

/**
 * `GGEN_TIMEOUT_SECS`: seconds in (0, 600], fractions allowed.
 * @throws {ConfigError} naming the variable and the accepted range
 */
function envTimeoutSecs(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const secs = Number(raw);
  if (!Number.isFinite(secs) || secs <= 0 || secs > 600) {
    throw new ConfigError(`Invalid GGEN_TIMEOUT_SECS "${raw}": must be a number of seconds above 0 and at most 600`);
  }
  return secs;
}

/** Registry modes */
export type RegistryMode = "central" | "p2p" | "hybrid" | "p2p-first";

/** Every mode, for validation and messages */
const MODES: readonly RegistryMode[] = ["central", "p2p", "hybrid", "p2p-first"];

/** A bootstrap peer */
export interface BootstrapPeer {
  peer_id?: string;
  address: string;
}

/** Whether a command may use the network: npm's and cargo's `--offline` and `--prefer-offline` */
export type NetworkPolicy = "online" | "offline" | "prefer-offline";

/** The fully resolved configuration */
export interface Config {
  home: string;
  configFile: string;
  logLevel: LogLevel;
  registry: {
    mode: RegistryMode;
    /** Where ids of ggen's package.toml packages go (`io.ggen`) */
    namespace: string;
    centralUrl: string;
    token?: string;
    /** Per-attempt timeout of central requests */
    timeoutMs: number;
    /** The registry's pinned public key (base64 raw), `[registry] public_key` */
    publicKey?: string;
    /** `--offline`, `--prefer-offline` (or `GGEN_OFFLINE=1`) */
    network: NetworkPolicy;
  };
  p2p: {
    enabled: boolean;
    listenAddrs: string[];
    bootstrap: BootstrapPeer[];
    mdns: boolean;
    maxConnections: number;
    dhtReplicationFactor: number;
    requestTimeoutSecs: number;
    /** Only peers with the same pre-shared key may connect */
    private: boolean;
    /** Absolute path of the swarm key file */
    pskFile?: string;
    maxConnectionsPerIp: number;
    maxRoutingEntriesPerIp: number;
    /** Bytes per second; 0: unlimited */
    uploadLimit: number;
    /** Bytes per second; 0: unlimited */
    downloadLimit: number;
    allowPeers: string[];
    /** Publisher key fingerprints accepted for packages from peers; empty for trust on first use */
    trustedPublishers: string[];
    denyPeers: string[];
    allowRanges: string[];
    denyRanges: string[];
    /** Distinct peers P2P-only metadata should come from */
    minSources: number;
    /** Largest package fetched from peers */
    maxPackageBytes: number;
  };
}

/** Flags that override configuration */
export interface ConfigFlags {
  registry?: string;
  verbose?: boolean;
  /** Warnings and errors only */
  quiet?: boolean;
  p2p?: boolean;
  central?: boolean;
  /** `--offline`: never touch the network; `--prefer-offline`: the caches first */
  network?: NetworkPolicy;
  listen?: string[];
  bootstrap?: string[];
  mdns?: boolean;
}

/** Bootstrap peers: an array of tables in the file, a comma-separated list of multiaddrs for `config set` */
export const BOOTSTRAP_KEY = "registry.p2p.bootstrap";

/** The schema: every key the file may hold, with its type and check */
const KEYS: Record<
  string,
  { type: "string" | "boolean" | "number" | "string[]"; check?: (v: unknown) => string | undefined }
> = {
  "registry.mode": {
    type: "string",
    check: (v) =>
      (MODES as readonly string[]).includes(String(v))
        ? undefined
        : 'must be "central", "p2p", "hybrid" or "p2p-first"',
  },
  "registry.central_url": {
    type: "string",
    check: (v) => {
      try {
        const u = new URL(String(v));
        return u.protocol === "http:" || u.protocol === "https:" ? undefined : "must be an http(s) URL";
      } catch {
        return "must be a URL";
      }
    },
  },
  "registry.token": { type: "string" },
  "registry.timeout_secs": { type: "number", check: (v) => positiveInt(v, 600) },
  "registry.public_key": { type: "string" },
  "registry.namespace": {
    type: "string",
    check: (v) => isValidPackageId(`${v}.x`) ? undefined : 'must be reverse-DNS labels such as "io.ggen"',
  },
  "registry.p2p.enabled": { type: "boolean" },
  "registry.p2p.private": { type: "boolean" },
  "registry.p2p.psk_file": { type: "string" },
  "registry.p2p.mdns": { type: "boolean" },
  "registry.p2p.listen_addrs": {
    type: "string[]",
    check: (v) =>
      (v as string[]).every((a) => a.startsWith("/")) ? undefined : "must be multiaddrs like /ip4/0.0.0.0/tcp/4001",
  },
  "registry.p2p.tuning.max_connections": { type: "number", check: (v) => positiveInt(v, 10_000) },
  "registry.p2p.tuning.max_connections_per_ip": { type: "number", check: (v) => positiveInt(v, 10_000) },
  "registry.p2p.tuning.max_routing_entries_per_ip": { type: "number", check: (v) => positiveInt(v, 10_000) },
  "registry.p2p.tuning.upload_limit": { type: "number", check: (v) => positiveInt(v, 2 ** 40) },
  "registry.p2p.tuning.download_limit": { type: "number", check: (v) => positiveInt(v, 2 ** 40) },
  "registry.p2p.security.allow_peers": { type: "string[]" },
  "registry.p2p.security.trusted_publishers": { type: "string[]" },
  "registry.p2p.security.min_sources": { type: "number", check: (v) => positiveInt(v, 20) },
  "registry.p2p.max_package_bytes": { type: "number", check: (v) => positiveInt(v, 2 ** 40) },
  "registry.p2p.security.deny_peers": { type: "string[]" },
  "registry.p2p.security.allow_ranges": { type: "string[]", check: checkCidrs },
  "registry.p2p.security.deny_ranges": { type: "string[]", check: checkCidrs },
  "registry.p2p.tuning.dht_replication_factor": { type: "number", check: (v) => positiveInt(v, 100) },
  "registry.p2p.tuning.request_timeout_secs": { type: "number", check: (v) => positiveInt(v, 3600) },
};

function checkCidrs(v: unknown): string | undefined {
  return (v as string[]).every((c) => /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c))
    ? undefined
    : 'must be CIDR ranges like "10.0.0.0/8"';
}

function positiveInt(v: unknown, max: number): string | undefined {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) <= max
    ? undefined
    : `must be an integer from 1 to ${max}`;
}

function flatten(obj: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (key === BOOTSTRAP_KEY) out[key] = v;
    else if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) {
      Object.assign(out, flatten(v as Record<string, unknown>, key));
    } else out[key] = v;
  }
  return out;
}

/** Check one key's value against the schema; `file` names where it came from in the error */
export function checkValue(file: string, key: string, value: unknown): void {
  const spec = KEYS[key];
  if (!spec) throw new ConfigError(`Invalid config "${file}": unknown key "${key}"`);
  const typeOk = spec.type === "string[]"
    ? Array.isArray(value) && value.every((x) => typeof x === "string")
    : (typeof value as string) === spec.type;
  if (!typeOk) throw new ConfigError(`Invalid config "${file}": key "${key}" must be a ${spec.type}`);
  const problem = spec.check?.(value);
  if (problem) throw new ConfigError(`Invalid config "${file}": key "${key}" ${problem}`);
}

function checkBootstrap(file: string, value: unknown): BootstrapPeer[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(`Invalid config "${file}": [[registry.p2p.bootstrap]] must be an array of tables`);
  }
  return value.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    if (typeof e.address !== "string" || !e.address.startsWith("/")) {
      throw new ConfigError(`Invalid config "${file}": key "registry.p2p.bootstrap[${i}].address" must be a multiaddr`);
    }
    if (e.peer_id !== undefined && typeof e.peer_id !== "string") {
      throw new ConfigError(`Invalid config "${file}": key "registry.p2p.bootstrap[${i}].peer_id" must be a string`);
    }
    return { address: e.address, ...(e.peer_id ? { peer_id: e.peer_id as string } : {}) };
  });
}

/** Read and validate the config file; an absent file is empty */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw err;
  }
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Invalid config "${file}": ${(err as Error).message}`);
  }
  const flat = flatten(data);
  for (const [key, value] of Object.entries(flat)) {
    if (key === BOOTSTRAP_KEY) checkBootstrap(file, value);
    else checkValue(file, key, value);
  }
  return flat;
}

/** The default GGEN_HOME */
export function defaultHome(): string {
  const env = Deno.env.get("GGEN_HOME");
  if (env) return env;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return join(home, ".ggen");
}

function splitList(v: string | undefined): string[] | undefined {
  return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

/** Resolve the whole configuration */
export async function loadConfig(flags: ConfigFlags = {}): Promise<Readonly<Config>> {
  const home = defaultHome();
  const configFile = join(home, "config.toml");
  const file = await readConfigFile(configFile);
  const env = (k: string) => Deno.env.get(k) || undefined;
  const mode = (flags.p2p ? "p2p" : flags.central ? "central" : undefined) ??
    (env("GGEN_MODE") as RegistryMode | undefined) ?? (file["registry.mode"] as RegistryMode | undefined) ?? "hybrid";
  if (!MODES.includes(mode)) {
    throw new ConfigError(`Invalid GGEN_MODE "${mode}": must be "central", "p2p", "hybrid" or "p2p-first"`);
  }
  const centralUrl = flags.registry ?? env("GGEN_REGISTRY") ?? (file["registry.central_url"] as string | undefined) ??
    DEFAULT_CENTRAL_URL;
  try {
    new URL(centralUrl);
  } catch {
    throw new ConfigError(`Invalid registry URL "${centralUrl}": must be an http(s) URL`);
  }
  const token = env("GGEN_TOKEN") ?? (file["registry.token"] as string | undefined);
  const bootstrap: BootstrapPeer[] = flags.bootstrap?.length
    ? flags.bootstrap.map((address) => ({ address: checkDialable(address, "--bootstrap") }))
    : splitList(env("GGEN_BOOTSTRAP"))?.map((address) => ({ address: checkDialable(address, "GGEN_BOOTSTRAP") })) ??
      (file["registry.p2p.bootstrap"] ? checkBootstrap(configFile, file["registry.p2p.bootstrap"]) : []);
  for (const address of flags.listen ?? []) checkListen(address);
  const logEnv = env("GGEN_LOG");
  const config: Config = {
    home,
    configFile,
    logLevel: flags.verbose
      ? "debug"
      : flags.quiet
      ? "warn"
      : (logEnv === "debug" || logEnv === "warn" || logEnv === "error" ? logEnv : "info"),
    registry: {
      mode,
      network: flags.network ?? (env("GGEN_OFFLINE") === "1" ? "offline" : "online"),
      centralUrl,
      ...(token ? { token } : {}),
      ...(file["registry.public_key"] ? { publicKey: file["registry.public_key"] as string } : {}),
      namespace: env("GGEN_NAMESPACE") ?? (file["registry.namespace"] as string | undefined) ??
        DEFAULT_PACKAGE_NAMESPACE,
      timeoutMs: (envTimeoutSecs(env("GGEN_TIMEOUT_SECS")) ??
        ((file["registry.timeout_secs"] as number | undefined) ?? 10)) * 1000,
    },
    p2p: {
      enabled: (file["registry.p2p.enabled"] as boolean | undefined) ?? true,
      listenAddrs: flags.listen?.length
        ? flags.listen
        : splitList(env("GGEN_LISTEN")) ?? (file["registry.p2p.listen_addrs"] as string[] | undefined) ??
          ["/ip4/0.0.0.0/tcp/0"],
      bootstrap,
      mdns: flags.mdns ?? (env("GGEN_MDNS") ? env("GGEN_MDNS") !== "0" : undefined) ??
        (file["registry.p2p.mdns"] as boolean | undefined) ?? true,
      maxConnections: (file["registry.p2p.tuning.max_connections"] as number | undefined) ?? 100,
      dhtReplicationFactor: (file["registry.p2p.tuning.dht_replication_factor"] as number | undefined) ?? 20,
      requestTimeoutSecs: Number(env("GGEN_P2P_TIMEOUT_SECS") ?? 0) ||
        ((file["registry.p2p.tuning.request_timeout_secs"] as number | undefined) ?? 30),
      private: (file["registry.p2p.private"] as boolean | undefined) ?? false,
      maxConnectionsPerIp: Number(env("GGEN_P2P_MAX_CONN_PER_IP") ?? 0) ||
        ((file["registry.p2p.tuning.max_connections_per_ip"] as number | undefined) ?? 8),
      maxRoutingEntriesPerIp: Number(env("GGEN_P2P_MAX_ROUTING_PER_IP") ?? 0) ||
        ((file["registry.p2p.tuning.max_routing_entries_per_ip"] as number | undefined) ?? 4),
      uploadLimit: Number(env("GGEN_UPLOAD_LIMIT") ?? 0) ||
        ((file["registry.p2p.tuning.upload_limit"] as number | undefined) ?? 0),
      downloadLimit: Number(env("GGEN_DOWNLOAD_LIMIT") ?? 0) ||
        ((file["registry.p2p.tuning.download_limit"] as number | undefined) ?? 0),
      allowPeers: (file["registry.p2p.security.allow_peers"] as string[] | undefined) ?? [],
      trustedPublishers: (file["registry.p2p.security.trusted_publishers"] as string[] | undefined) ?? [],
      denyPeers: (file["registry.p2p.security.deny_peers"] as string[] | undefined) ?? [],
      allowRanges: (file["registry.p2p.security.allow_ranges"] as string[] | undefined) ?? [],
      denyRanges: (file["registry.p2p.security.deny_ranges"] as string[] | undefined) ?? [],
      minSources: Number(env("GGEN_MIN_SOURCES") ?? 0) ||
        ((file["registry.p2p.security.min_sources"] as number | undefined) ?? DEFAULT_MIN_SOURCES),
      maxPackageBytes: (file["registry.p2p.max_package_bytes"] as number | undefined) ?? DEFAULT_MAX_TARBALL_BYTES,
      // Relative paths are relative to the config file's directory
      ...(env("GGEN_PSK_FILE") ?? file["registry.p2p.psk_file"]
        ? { pskFile: resolvePath(home, (env("GGEN_PSK_FILE") ?? file["registry.p2p.psk_file"]) as string) }
        : {}),
    },
  };
  return Object.freeze(config);
}

/** A value typed on the command line (`config set KEY VALUE`) as the file would hold it */
export function parseCliValue(key: string, raw: string): unknown {
  // Bootstrap peers are tables in the file ([[registry.p2p.bootstrap]] address = …): a list here
  if (key === BOOTSTRAP_KEY) return splitList(raw)?.map((a) => ({ address: checkDialable(a, key) })) ?? [];
  const spec = KEYS[key];
  if (!spec) throw new ConfigError(`Unknown config key "${key}": known keys are ${Object.keys(KEYS).join(", ")}`);
  switch (spec.type) {
    case "boolean":
      if (raw !== "true" && raw !== "false") throw new ConfigError(`Invalid value for "${key}": must be true or false`);
      return raw === "true";
    case "number":
      return Number(raw);
    case "string[]":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

/** Every known key */
export const CONFIG_KEYS: readonly string[] = [...Object.keys(KEYS), BOOTSTRAP_KEY];
