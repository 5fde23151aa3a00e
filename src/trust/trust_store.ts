/**
 * `$GGEN_HOME/trust.toml`: publisher keys pinned per package on first use (like SSH
 * known_hosts), the registry's key, and the highest metadata `seq` seen per package.
 * @module
 */
import { join } from "node:path";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { ConfigError, isValidPackageId } from "../core/mod.ts";
import { writeFileAtomic } from "../store/mod.ts";

/** The trust store */
export interface TrustStore {
  /** File system path */
  readonly path: string;
  /** Fingerprints pinned for a package */
  pinned(id: string): string[];
  /** Replace the pins of a package */
  pin(id: string, keyids: string[]): void;
  /** The pinned registry key (base64 raw) */
  registryKey(): string | undefined;
  /** Pin the registry key */
  setRegistryKey(publicKey: string): void;
  /** Highest metadata seq seen for a package */
  metadataSeq(id: string): number;
  /** Remember the highest metadata seq seen */
  setMetadataSeq(id: string, seq: number): void;
  /** Write changes atomically */
  save(): Promise<void>;
}

interface TrustFile {
  registry?: { public_key?: string };
  packages?: Record<string, { keys?: string[]; metadata_seq?: number }>;
}

/** Open the trust store of `home` */
export async function openTrustStore(home: string): Promise<TrustStore> {
  const path = join(home, "trust.toml");
  let data: TrustFile = {};
  try {
    data = parseToml(await Deno.readTextFile(path)) as TrustFile;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`Invalid trust store "${path}": ${(err as Error).message}`);
    }
  }
  data.packages ??= {};
  for (const id of Object.keys(data.packages)) {
    if (!isValidPackageId(id)) {
      throw new ConfigError(
        `Invalid trust store "${path}": ${JSON.stringify(id.slice(0, 80))} is not a package id; remove that entry`,
      );
    }
  }
  let dirty = false;
  const entry = (id: string) => (data.packages![id] ??= {});
  return {
    path,
    pinned: (id) => [...(data.packages![id]?.keys ?? [])],
    pin(id, keyids) {
      if (!isValidPackageId(id)) {
        throw new ConfigError(`Refusing to pin keys for ${JSON.stringify(id)}: not a package id`);
      }
      entry(id).keys = [...new Set(keyids)].sort();
      dirty = true;
    },
    registryKey: () => data.registry?.public_key,
    setRegistryKey(publicKey) {
      data.registry = { public_key: publicKey };
      dirty = true;
    },
    metadataSeq: (id) => data.packages![id]?.metadata_seq ?? 0,
    setMetadataSeq(id, seq) {
      entry(id).metadata_seq = seq;
      dirty = true;
    },
    async save() {
      if (!dirty) return;
      await writeFileAtomic(path, `# Keys ggen trusts. Edit with \`ggen trust\`.\n${stringifyToml(data)}\n`);
      dirty = false;
    },
  };
}
