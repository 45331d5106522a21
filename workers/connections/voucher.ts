/**
 * Voucher codes: `base64url(payload).base64url(HMAC-SHA256(secret, payload part))`. The signature
 * alone says that Tally issued a code, and any change to the payload or the tag makes it invalid,
 * so a forged code is refused before any database read. A genuine code's redemption row then says
 * when it expires (`VOUCHER_TTL_DAYS` after the redemption) and whether a retailer used it.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../shared/base64url.ts";
import { database, schema } from "../../shared/db/client.ts";
import { hmacSha256Key } from "../../shared/hmac.ts";
import { DAY_MS, toIso } from "../../shared/time.ts";
import type { Principal } from "../http/auth.ts";
import { ApiError } from "../http/problem.ts";
import type { voucherCheckSchema } from "./schemas.ts";

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

/** Signs the claims of one redemption into a voucher code. */
export async function signVoucher(secret: string, claims: VoucherClaims): Promise<string> {
  const payload = { v: 1, r: claims.redemptionId, o: claims.offerId, u: claims.userId, t: claims.redeemedAt };
  const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
  const tag = await crypto.subtle.sign("HMAC", await hmacSha256Key(secret, ["sign"]), encoder.encode(body));
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
  const genuine = await crypto.subtle.verify("HMAC", await hmacSha256Key(secret, ["verify"]), tag, encoder.encode(body));
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

const DEFAULT_VOUCHER_TTL_DAYS = 90;

/**
 * How long a voucher can be used after its redemption: `VOUCHER_TTL_DAYS`, or 90 days when unset or
 * not a positive integer. Read at each check, so changing the var moves the expiry of vouchers
 * already issued too.
 */
export function voucherTtlMs(env: Env): number {
  const days = Number(env.VOUCHER_TTL_DAYS);
  return (Number.isSafeInteger(days) && days > 0 ? days : DEFAULT_VOUCHER_TTL_DAYS) * DAY_MS;
}

/** A genuine voucher: its claims, what its redemption row says, and the retailer of its offer. */
interface IssuedVoucher {
  claims: VoucherClaims;
  redeemedAt: number;
  usedAt: number | null;
  retailer: string | null;
}

/**
 * The voucher behind a code, or undefined when Tally never issued it: a bad signature, or a
 * genuine signature whose redemption was refused (no row holds that code).
 */
async function issuedVoucher(env: Env, code: string): Promise<IssuedVoucher | undefined> {
  const claims = await verifyVoucher(env.VOUCHER_SECRET, code);
  if (!claims) return undefined;
  const r = schema.redemptions;
  const [row] = await database(env.DB)
    .select({ voucherCode: r.voucherCode, redeemedAt: r.redeemedAt, usedAt: r.usedAt, retailer: schema.offers.retailer })
    .from(r)
    .leftJoin(schema.offers, eq(schema.offers.offerId, r.offerId))
    .where(eq(r.redemptionId, claims.redemptionId));
  if (!row || row.voucherCode !== code) return undefined;
  return { claims, redeemedAt: row.redeemedAt, usedAt: row.usedAt, retailer: row.retailer };
}

/** What `GET /vouchers/{code}` answers; `valid` says that Tally issued the code, `expiresAt`/`usedAt` whether it can still be used. */
export type VoucherCheck = z.output<typeof voucherCheckSchema>;

/** Checks a code: a forged, altered or malformed one is `valid: false` with nulls, never an error. */
export async function checkVoucher(env: Env, code: string): Promise<VoucherCheck> {
  const voucher = await issuedVoucher(env, code);
  if (!voucher) {
    return { valid: false, offerId: null, userId: null, redeemedAt: null, expiresAt: null, usedAt: null, redemptionId: null };
  }
  return {
    valid: true,
    offerId: voucher.claims.offerId,
    userId: voucher.claims.userId,
    redeemedAt: toIso(voucher.redeemedAt),
    expiresAt: toIso(voucher.redeemedAt + voucherTtlMs(env)),
    usedAt: voucher.usedAt === null ? null : toIso(voucher.usedAt),
    redemptionId: voucher.claims.redemptionId,
  };
}

/**
 * Marks a voucher used, once, for the retailer of its offer (the token's `retailerId` claim) or an
 * admin. One conditional UPDATE (`used_at IS NULL` and not expired) decides, so of two concurrent
 * uses exactly one wins; the other is 409 `already_used`. A forged code is 404, another retailer
 * 403 (before anything about the voucher's state is told), an expired voucher 410 `expired`.
 */
export async function useVoucher(env: Env, code: string, caller: Principal): Promise<{ usedAt: string }> {
  const voucher = await issuedVoucher(env, code);
  if (!voucher) throw new ApiError("not_found", "Tally issued no voucher with this code");
  const mine = voucher.retailer !== null && caller.retailerId === voucher.retailer;
  if (!mine && !caller.roles.includes("admin")) {
    throw new ApiError("forbidden", "only the retailer of the voucher's offer (retailerId claim) or an admin may use it");
  }
  const now = Date.now();
  const r = schema.redemptions;
  const db = database(env.DB);
  const [won] = await db
    .update(r)
    .set({ usedAt: now })
    .where(and(eq(r.redemptionId, voucher.claims.redemptionId), isNull(r.usedAt), gt(r.redeemedAt, now - voucherTtlMs(env))))
    .returning({ usedAt: r.usedAt });
  if (won) return { usedAt: toIso(now) };
  const [row] = await db.select({ usedAt: r.usedAt }).from(r).where(eq(r.redemptionId, voucher.claims.redemptionId));
  if (row && row.usedAt !== null) throw new ApiError("already_used", `the voucher was used at ${toIso(row.usedAt)}`);
  throw new ApiError("expired", `the voucher expired at ${toIso(voucher.redeemedAt + voucherTtlMs(env))}`);
}
