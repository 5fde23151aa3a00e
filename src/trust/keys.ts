/**
 * Publisher keys in `$GGEN_HOME/keys/`: `<name>.key` (PKCS#8, mode 0600, never printed or
 * logged) and `<name>.pub` (base64 raw public key). Ed25519 through WebCrypto.
 * @module
 */
import { join } from "node:path";
import {
  ConflictError,
  fingerprint,
  fromBase64,
  NotFoundError,
  type Signer,
  toBase64,
  ValidationError,
} from "../core/mod.ts";
import { createKeyFiles, loadKeyFiles } from "../store/mod.ts";

/** A key as listed */
export interface KeyInfo {
  /** Name of the key file in `$GGEN_HOME/keys` */
  name: string;
  /** Key fingerprint `SHA256:<base64>` */
  keyid: string;
  /** base64 raw Ed25519 public key */
  publicKey: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function keyPaths(home: string, name: string) {
  if (!NAME.test(name)) throw new ValidationError(`Invalid key name "${name}": letters, digits, '.', '_' or '-'`);
  const dir = join(home, "keys");
  return { dir, priv: join(dir, `${name}.key`), pub: join(dir, `${name}.pub`) };
}

/**
 * Generate a key pair; refuses to overwrite an existing key.
 * @throws {ConflictError} when the name is taken
 */
export async function generateKey(home: string, name = "default"): Promise<KeyInfo> {
  const paths = keyPaths(home, name);
  try {
    await Deno.stat(paths.priv);
    throw new ConflictError(`Key "${name}" already exists in ${paths.dir}`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  try {
    const signer = await createKeyFiles(paths.priv, paths.pub);
    return { name, keyid: signer.keyid, publicKey: toBase64(signer.publicKeyRaw) };
  } catch (err) {
    // Created by another process between the check and now
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new ConflictError(`Key "${name}" already exists in ${paths.dir}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Load a signing key.
 * @throws {NotFoundError} with the command that creates one
 */
export async function loadSigner(home: string, name = "default"): Promise<Signer> {
  const paths = keyPaths(home, name);
  try {
    return await loadKeyFiles(paths.priv, paths.pub);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`No signing key "${name}": create one with \`ggen key generate --name ${name}\``);
    }
    throw err;
  }
}

/** Load the named key, creating it first when it is the default and absent */
export async function loadOrCreateSigner(
  home: string,
  name = "default",
  onCreate?: (k: KeyInfo) => void,
): Promise<Signer> {
  try {
    return await loadSigner(home, name);
  } catch (err) {
    if (!(err instanceof NotFoundError) || name !== "default") throw err;
    // Create first, then tell: `onCreate?.(await generateKey(…))` would skip the creation too.
    // Two first-time commands at once: one creates it, the other loads that key
    const created = await generateKey(home, name).catch((e) => {
      if (e instanceof ConflictError) return undefined;
      throw e;
    });
    if (created) onCreate?.(created);
    return await loadSigner(home, name);
  }
}

/** Every key in `$GGEN_HOME/keys` */
export async function listKeys(home: string): Promise<KeyInfo[]> {
  const dir = join(home, "keys");
  const out: KeyInfo[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".pub")) continue;
      const raw = fromBase64((await Deno.readTextFile(join(dir, e.name))).trim());
      out.push({ name: e.name.slice(0, -4), keyid: fingerprint(raw), publicKey: toBase64(raw) });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
