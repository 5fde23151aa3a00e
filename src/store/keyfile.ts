/**
 * Ed25519 key files: `<x>.key` (base64 PKCS#8, mode 0600) and `<x>.pub` (base64 raw public key).
 * Used for publisher keys (`$GGEN_HOME/keys/`) and the registry's own key.
 * @module
 */
import { fingerprint, fromBase64, type Signer, toBase64 } from "../core/mod.ts";
import { tempPathFor, writeFileAtomic } from "./atomic.ts";

/**
 * Generate a key pair into the two files. The private key is linked into place, which fails when
 * the file exists: of two first-time creations at once, exactly one wins (the other gets
 * Deno.errors.AlreadyExists and loads the winner's key).
 */
export async function createKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const tmp = tempPathFor(privPath);
  await Deno.writeTextFile(tmp, toBase64(pkcs8) + "\n", { mode: 0o600, createNew: true });
  try {
    await Deno.chmod(tmp, 0o600);
    await Deno.link(tmp, privPath);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  await writeFileAtomic(pubPath, toBase64(raw) + "\n", 0o644);
  return { keyid: fingerprint(raw), privateKey: pair.privateKey, publicKeyRaw: raw };
}

/**
 * Load a key pair; throws Deno.errors.NotFound when absent. The public key comes from the
 * private one (the `.pub` file is its copy for people and other tools, written when missing)
 */
export async function loadKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  const privText = await Deno.readTextFile(privPath);
  const pkcs8 = fromBase64(privText.trim()) as Uint8Array<ArrayBuffer>;
  const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", extractable);
  const publicKeyRaw = fromBase64Url(jwk.x ?? "");
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const pub = await Deno.readTextFile(pubPath).catch(() => undefined);
  if (pub === undefined) await writeFileAtomic(pubPath, toBase64(publicKeyRaw) + "\n", 0o644);
  return { keyid: fingerprint(publicKeyRaw), privateKey, publicKeyRaw };
}

function fromBase64Url(text: string): Uint8Array {
  return fromBase64(text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - text.length % 4) % 4));
}

/** Load the key pair, creating it on first use */
export async function loadOrCreateKeyFiles(privPath: string, pubPath: string): Promise<Signer> {
  try {
    return await loadKeyFiles(privPath, pubPath);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    try {
      return await createKeyFiles(privPath, pubPath);
    } catch (created) {
      // Another process created it first: its key is the one
      if (created instanceof Deno.errors.AlreadyExists) return await loadKeyFiles(privPath, pubPath);
      throw created;
    }
  }
}
