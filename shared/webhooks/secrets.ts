/**
 * Webhook signing secrets at rest: AES-256-GCM (Web Crypto) under a key derived with HKDF-SHA256
 * from the `WEBHOOK_ENCRYPTION_KEY` secret binding. A D1 dump or a leaked backup then holds no
 * usable secret. Each value is bound to its webhook id (GCM additional data), so a ciphertext
 * copied onto another row does not decrypt.
 */
import { toHex } from "../hmac.ts";
import { fromHex } from "../webhook-signature.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Stored values start with this; the version names the key derivation and cipher. */
const PREFIX = "v1:";

/** Secrets stored before encryption (plain `whsec_…`); read as they are until the webhook is deleted. */
const LEGACY_PLAIN_PREFIX = "whsec_";

/** One derived key per binding value; deriving costs a little CPU on every delivery batch otherwise. */
const keys = new Map<string, Promise<CryptoKey>>();

function aesKey(material: string): Promise<CryptoKey> {
  let key = keys.get(material);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("tally webhook secrets v1") },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(material, key);
  }
  return key;
}

/**
 * Encrypts `secret` for the row of `webhookId` under `keyMaterial` (the `WEBHOOK_ENCRYPTION_KEY`
 * value), as `v1:<hex iv>:<hex ciphertext and tag>`.
 *
 * @example
 * const stored = await encryptSecret(env.WEBHOOK_ENCRYPTION_KEY, "hook-1", "whsec_…");
 */
export async function encryptSecret(keyMaterial: string, webhookId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(webhookId) },
    await aesKey(keyMaterial),
    encoder.encode(secret),
  );
  return `${PREFIX}${toHex(iv)}:${toHex(sealed)}`;
}

/**
 * The secret a stored value holds. Throws when it was sealed under another key or for another
 * webhook (a misconfiguration the caller must not sign around).
 */
export async function decryptSecret(keyMaterial: string, webhookId: string, stored: string): Promise<string> {
  if (stored.startsWith(LEGACY_PLAIN_PREFIX)) return stored;
  const [iv, sealed] = stored.startsWith(PREFIX) ? stored.slice(PREFIX.length).split(":", 2).map(fromHex) : [];
  if (!iv || !sealed) throw new Error(`webhook ${webhookId}: the stored secret is not in a known format`);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(webhookId) },
    await aesKey(keyMaterial),
    sealed,
  );
  return decoder.decode(plain);
}
