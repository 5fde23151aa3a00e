/**
 * Ed25519 key files: `<x>.key` (base64 PKCS#8, mode 0600) and `<x>.pub` (base64 raw public key).
 * Used for publisher keys (`$GGEN_HOME/keys/`) and the registry's own key.
 * @module
 */
import { fingerprint, fromBase64, type Signer, toBase64 } from "../core/mod.ts";
import { writeFileAtomic } from "./atomic.ts";

/** Generate a key pair into the two files (which must not exist) */
export async function createKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  await writeFileAtomic(privPath, toBase64(pkcs8) + "\n", 0o600);
  await Deno.chmod(privPath, 0o600);
  await writeFileAtomic(pubPath, toBase64(raw) + "\n", 0o644);
  return { keyid: fingerprint(raw), privateKey: pair.privateKey, publicKeyRaw: raw };
}

/** Load a key pair; throws Deno.errors.NotFound when absent */
export async function loadKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  const privText = await Deno.readTextFile(privPath);
  const publicKeyRaw = fromBase64((await Deno.readTextFile(pubPath)).trim());
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    fromBase64(privText.trim()) as Uint8Array<ArrayBuffer>,
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return { keyid: fingerprint(publicKeyRaw), privateKey, publicKeyRaw };
}

/** Load the key pair, creating it on first use */
export async function loadOrCreateKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  try {
    return await loadKeyFiles(privPath, pubPath);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    return await createKeyFiles(privPath, pubPath);
  }
}
