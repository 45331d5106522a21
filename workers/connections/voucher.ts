/**
 * Voucher codes: `base64url(payload).base64url(HMAC-SHA256(secret, payload part))`. A retailer
 * checks a code with `GET /vouchers/{code}` without a database read: the signature alone says
 * that Tally issued it, and any change to the payload or the tag makes it invalid.
 */
import { z } from "zod";

export interface VoucherClaims {
  redemptionId: string;
  offerId: string;
  userId: string;
  /** Epoch ms. */
  redeemedAt: number;
}

const payloadSchema = z.object({
  v: z.literal(1),
  r: z.string().min(1),
  o: z.string().min(1),
  u: z.string().min(1),
  t: z.number().int().nonnegative(),
});

const CODE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** Signs the claims of one redemption into a voucher code. */
export async function signVoucher(secret: string, claims: VoucherClaims): Promise<string> {
  const payload = { v: 1, r: claims.redemptionId, o: claims.offerId, u: claims.userId, t: claims.redeemedAt };
  const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
  const tag = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(body));
  return `${body}.${toBase64Url(new Uint8Array(tag))}`;
}

/**
 * The claims of a code Tally signed, or undefined for anything forged, altered or malformed.
 * `crypto.subtle.verify` compares the tags in constant time.
 */
export async function verifyVoucher(secret: string, code: string): Promise<VoucherClaims | undefined> {
  const match = CODE.exec(code);
  if (!match) return undefined;
  const [, body, tagText] = match as unknown as [string, string, string];
  const tag = fromBase64Url(tagText);
  if (!tag || tag.length !== 32) return undefined;
  const genuine = await crypto.subtle.verify("HMAC", await hmacKey(secret), tag, encoder.encode(body));
  if (!genuine) return undefined;
  const json = fromBase64Url(body);
  if (!json) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(json));
  } catch {
    return undefined;
  }
  const claims = payloadSchema.safeParse(parsed);
  if (!claims.success) return undefined;
  return { redemptionId: claims.data.r, offerId: claims.data.o, userId: claims.data.u, redeemedAt: claims.data.t };
}
