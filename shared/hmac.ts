/**
 * HMAC-SHA256 keys and hex encoding over Web Crypto, present in workerd and Node alike: one place
 * for voucher codes (`workers/connections/voucher.ts`) and webhook signatures
 * (`shared/webhook-signature.ts`, also loaded by `scripts/webhook-receiver.ts`).
 */

const encoder = new TextEncoder();

/** An HMAC-SHA256 key from a text secret, for the given usages. */
export function hmacSha256Key(secret: string, usages: readonly ("sign" | "verify")[]): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [...usages]);
}

/**
 * Lower-case hex of some bytes: webhook secrets and signatures, and user tag ids (a digest's first
 * 16 bytes, on the ingest path, hence a plain loop).
 */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  let hex = "";
  for (const byte of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
