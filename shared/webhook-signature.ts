/**
 * The `tally-signature` header of webhook deliveries (Stripe-style): `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>" under the webhook's secret>`. While a rotated-out secret is still in
 * its overlap, the header carries one `v1=` per secret (`t=…,v1=<new>,v1=<previous>`), and a
 * verifier accepts the request when any of them matches its secret. One module for the Worker,
 * which signs, and for `scripts/webhook-receiver.ts` (or any receiver written in TypeScript), which
 * verifies: it uses only Web Crypto, present in workerd and Node alike.
 */

/** The header a delivery carries its signature in. */
export const SIGNATURE_HEADER = "tally-signature";

/** How far a signature's timestamp may be from the verifier's clock before it counts as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

import { hmacSha256Key, toHex } from "./hmac.ts";

const encoder = new TextEncoder();

/** The bytes of a hex string; undefined when it is not even-length hex. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/**
 * The `tally-signature` value for `body` sent at `timestampSeconds`: one `v1=` per secret, in the
 * order given (the current secret first, then one in its rotation overlap).
 *
 * @example
 * const header = await signWebhookBody(secret, JSON.stringify(event), Math.floor(Date.now() / 1000));
 */
export async function signWebhookBody(secrets: string | readonly string[], body: string, timestampSeconds: number): Promise<string> {
  const signed = encoder.encode(`${timestampSeconds}.${body}`);
  const macs = await Promise.all(
    (typeof secrets === "string" ? [secrets] : secrets).map(async (secret) => `v1=${toHex(await crypto.subtle.sign("HMAC", await hmacSha256Key(secret, ["sign"]), signed))}`),
  );
  return [`t=${timestampSeconds}`, ...macs].join(",");
}

export type SignatureCheck = { ok: true; timestampSeconds: number } | { ok: false; reason: string };

/**
 * Checks a delivery: the header parses, its timestamp is within `toleranceSeconds` of `nowMs`, and
 * one of its `v1` signatures is the HMAC of `"<t>.<body>"` (compared in constant time by Web
 * Crypto's `verify`). `body` must be the raw request body, byte for byte as received.
 */
export async function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | null | undefined,
  options: { nowMs?: number; toleranceSeconds?: number } = {},
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  let timestamp: number | undefined;
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const part of header.split(",")) {
    const [key, value = ""] = part.trim().split("=", 2);
    if (key === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === "v1") {
      const bytes = fromHex(value);
      if (bytes?.length === 32) signatures.push(bytes);
    }
  }
  if (timestamp === undefined) return { ok: false, reason: "no timestamp t= in the signature header" };
  if (signatures.length === 0) return { ok: false, reason: "no v1= signature in the signature header" };
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    return { ok: false, reason: `timestamp ${timestamp} is more than ${tolerance} s from now (${nowSeconds})` };
  }
  const key = await hmacSha256Key(secret, ["verify"]);
  const signed = encoder.encode(`${timestamp}.${body}`);
  for (const signature of signatures) {
    if (await crypto.subtle.verify("HMAC", key, signature, signed)) return { ok: true, timestampSeconds: timestamp };
  }
  return { ok: false, reason: "signature does not match" };
}
