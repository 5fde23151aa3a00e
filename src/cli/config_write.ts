/**
 * Changing `$GGEN_HOME/config.toml`: one key at a time, validated like the loader validates it,
 * written atomically with mode 0600 (it may hold a token). Apart from config.ts so that reading
 * the configuration, which every command does, loads no store code.
 * @module
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { writeFileAtomic } from "../store/mod.ts";
import { BOOTSTRAP_KEY, checkValue, parseCliValue } from "./config.ts";

/** Set one key in the config file, validated, written atomically */
export async function setConfigValue(configFile: string, key: string, raw: string): Promise<void> {
  const value = parseCliValue(key, raw);
  if (key !== BOOTSTRAP_KEY) checkValue(configFile, key, value);
  let data: Record<string, unknown> = {};
  try {
    data = parseToml(await Deno.readTextFile(configFile)) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const parts = key.split(".");
  let table = data;
  for (const p of parts.slice(0, -1)) {
    table[p] ??= {};
    table = table[p] as Record<string, unknown>;
  }
  table[parts.at(-1)!] = value;
  await writeFileAtomic(configFile, stringifyToml(data) + "\n", 0o600);
}

/** Remove one key from the config file (nothing happens when it is not set) */
export async function removeConfigValue(configFile: string, key: string): Promise<boolean> {
  let data: Record<string, unknown>;
  try {
    data = parseToml(await Deno.readTextFile(configFile)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  const parts = key.split(".");
  let table: Record<string, unknown> | undefined = data;
  for (const p of parts.slice(0, -1)) table = table?.[p] as Record<string, unknown> | undefined;
  if (!table || !(parts.at(-1)! in table)) return false;
  delete table[parts.at(-1)!];
  await writeFileAtomic(configFile, stringifyToml(data) + "\n", 0o600);
  return true;
}
