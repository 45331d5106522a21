/**
 * Offers, charities, redemptions and donations. Points are taken from the `User` wallet first (the
 * object serialises debits, so two redemptions can never spend the same points), then D1 is
 * written. Every step is keyed by the client's id: the wallet ref, the D1 primary key, and the
 * `applied` flag that makes the stock or total change happen once in the same batch as the insert.
 */
import { eq } from "drizzle-orm";
import { userStub } from "../../durable-objects/user/stub.ts";
import type { WalletEntry } from "../../durable-objects/user/wallet.ts";
import { database, schema } from "../../shared/db/client.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { toIso } from "../../shared/time.ts";
import { ApiError, unwrap } from "../http/problem.ts";
import { signVoucher } from "./voucher.ts";

type OfferRow = typeof schema.offers.$inferSelect;
type CharityRow = typeof schema.charities.$inferSelect;
type RedemptionRow = typeof schema.redemptions.$inferSelect;
type DonationRow = typeof schema.donations.$inferSelect;

export interface OfferJson {
  offerId: string;
  retailer: string;
  title: string;
  pointsCost: number;
  stock: number | null;
  createdAt: string;
}

export interface CharityJson {
  charityId: string;
  name: string;
  pointsDonated: number;
  createdAt: string;
}

export interface RedemptionJson {
  redemptionId: string;
  voucherCode: string;
  offerId: string;
  userId: string;
  points: number;
  redeemedAt: string;
}

export interface DonationJson {
  donationId: string;
  charityId: string;
  userId: string;
  points: number;
  donatedAt: string;
}

const offerJson = (row: OfferRow): OfferJson => ({
  offerId: row.offerId,
  retailer: row.retailer,
  title: row.title,
  pointsCost: row.pointsCost,
  stock: row.stock,
  createdAt: toIso(row.createdAt),
});

const charityJson = (row: CharityRow): CharityJson => ({
  charityId: row.charityId,
  name: row.name,
  pointsDonated: row.pointsDonated,
  createdAt: toIso(row.createdAt),
});

const redemptionJson = (row: RedemptionRow): RedemptionJson => ({
  redemptionId: row.redemptionId,
  voucherCode: row.voucherCode,
  offerId: row.offerId,
  userId: row.userId,
  points: row.points,
  redeemedAt: toIso(row.redeemedAt),
});

const donationJson = (row: DonationRow): DonationJson => ({
  donationId: row.donationId,
  charityId: row.charityId,
  userId: row.userId,
  points: row.points,
  donatedAt: toIso(row.donatedAt),
});

/** The terms an offer was created with. `stock` goes down with redemptions, so its initial value counts. */
export const storedOfferTerms = (row: OfferRow) => ({
  retailer: row.retailer,
  title: row.title,
  pointsCost: row.pointsCost,
  stock: row.initialStock,
});

/** The terms a create (or an import row) asks for, comparable with `storedOfferTerms`. */
export const newOfferTerms = (input: { retailer: string; title: string; pointsCost: number; stock?: number }) => ({
  retailer: input.retailer,
  title: input.title,
  pointsCost: input.pointsCost,
  stock: input.stock ?? null,
});

/**
 * Adds an offer. With a client-chosen `offerId`, the same offer again returns it; the id with
 * different content is 409.
 */
export async function createOffer(
  d1: D1Database,
  input: { offerId?: string; retailer: string; title: string; pointsCost: number; stock?: number },
): Promise<OfferJson> {
  const db = database(d1);
  const stock = input.stock ?? null;
  const values = {
    offerId: input.offerId ?? crypto.randomUUID(),
    retailer: input.retailer,
    title: input.title,
    pointsCost: input.pointsCost,
    stock,
    initialStock: stock,
    createdAt: Date.now(),
  };
  const [inserted] = await db.insert(schema.offers).values(values).onConflictDoNothing().returning();
  if (inserted) return offerJson(inserted);
  const [first] = await db.select().from(schema.offers).where(eq(schema.offers.offerId, values.offerId));
  if (!first) throw new ApiError("unavailable", "offer vanished; retry");
  if (!sameTerms(storedOfferTerms(first), newOfferTerms(input))) throw new ApiError("idempotency_conflict", `offer ${values.offerId} already exists with other content`);
  return offerJson(first);
}

export async function listOffers(d1: D1Database, limit: number): Promise<OfferJson[]> {
  const found = await database(d1)
    .select()
    .from(schema.offers)
    .orderBy(schema.offers.createdAt, schema.offers.offerId)
    .limit(limit);
  return found.map(offerJson);
}

/** Adds a charity; idempotent on a client-chosen `charityId` like offers. */
export async function createCharity(d1: D1Database, input: { charityId?: string; name: string }): Promise<CharityJson> {
  const db = database(d1);
  const values = { charityId: input.charityId ?? crypto.randomUUID(), name: input.name, pointsDonated: 0, createdAt: Date.now() };
  const [inserted] = await db.insert(schema.charities).values(values).onConflictDoNothing().returning();
  if (inserted) return charityJson(inserted);
  const [first] = await db.select().from(schema.charities).where(eq(schema.charities.charityId, values.charityId));
  if (!first) throw new ApiError("unavailable", "charity vanished; retry");
  if (!sameTerms({ name: first.name }, { name: values.name })) {
    throw new ApiError("idempotency_conflict", `charity ${values.charityId} already exists with another name`);
  }
  return charityJson(first);
}

export async function listCharities(d1: D1Database, limit: number): Promise<CharityJson[]> {
  const found = await database(d1)
    .select()
    .from(schema.charities)
    .orderBy(schema.charities.createdAt, schema.charities.charityId)
    .limit(limit);
  return found.map(charityJson);
}

/**
 * Redeems an offer for `userId`: debit the wallet (ref `redemption:<id>`), then in one D1 batch
 * insert the redemption when the offer has stock left and take one from the stock. When the
 * batch refuses for good (no stock left, or the id belongs to someone else's redemption) the
 * points are credited back under `redemption-refund:<id>`. Those refusals never turn into a
 * success later (stock only goes down, a row never changes owner), so a resend is refused and
 * refunded the same way, once. A D1 error is not refunded at once: the debit stays keyed by the
 * id, and a resend with the same `redemptionId` either finishes the redemption without debiting
 * again or, when the stock ran out meanwhile, refunds it. So a client-chosen id always goes
 * through the debit (replayed when it was paid before) even when the offer looks sold out: only
 * the wallet knows whether an earlier attempt paid. A new client-chosen id for a sold-out offer is
 * debited and refunded (or refused at once when the points are short).
 */
export async function redeemOffer(
  env: Env,
  input: { userId: string; offerId: string; redemptionId?: string },
): Promise<RedemptionJson> {
  const db = database(env.DB);
  const redemptionId = input.redemptionId ?? crypto.randomUUID();
  const same = (row: RedemptionRow) => sameTerms({ userId: row.userId, offerId: row.offerId }, { userId: input.userId, offerId: input.offerId });

  const [earlier] = await db.select().from(schema.redemptions).where(eq(schema.redemptions.redemptionId, redemptionId));
  if (earlier) {
    if (same(earlier)) return redemptionJson(earlier);
    throw new ApiError("idempotency_conflict", `redemption ${redemptionId} was already used with a different payload`);
  }
  const [offer] = await db.select().from(schema.offers).where(eq(schema.offers.offerId, input.offerId));
  if (!offer) throw new ApiError("not_found", `no offer ${input.offerId}`);
  const soldOut = offer.stock !== null && offer.stock <= 0;
  // An id the server just made up cannot have paid before, so nothing can be owed back.
  if (soldOut && input.redemptionId === undefined) throw new ApiError("out_of_stock", `offer ${input.offerId} is out of stock`);

  const reason = `offer ${offer.offerId}`;
  const debited = await userStub(env, input.userId).debitPoints({ ref: `redemption:${redemptionId}`, reason, points: offer.pointsCost });
  // Short of points and sold out: nothing was ever paid under this id (a paid one replays), and the stock is the answer.
  if (!debited.ok && soldOut) throw new ApiError("out_of_stock", `offer ${input.offerId} is out of stock`);
  const debit = unwrap(debited);
  // A concurrent resend of this id for another offer must not go on to refund what it never paid.
  if (debit.replayed && !sameDebit(debit.entry, reason, offer.pointsCost)) {
    throw new ApiError("idempotency_conflict", `redemption ${redemptionId} was already used with a different payload`);
  }

  const redeemedAt = Date.now();
  const voucherCode = await signVoucher(env.VOUCHER_SECRET, {
    redemptionId,
    offerId: offer.offerId,
    userId: input.userId,
    redeemedAt,
  });
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO redemptions (redemption_id, user_id, offer_id, points, voucher_code, redeemed_at, applied)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 0
       WHERE EXISTS (SELECT 1 FROM offers WHERE offer_id = ?3 AND (stock IS NULL OR stock > 0))
       ON CONFLICT (redemption_id) DO NOTHING`,
    ).bind(redemptionId, input.userId, offer.offerId, offer.pointsCost, voucherCode, redeemedAt),
    env.DB.prepare(
      `UPDATE offers SET stock = stock - 1
       WHERE offer_id = ?1 AND stock IS NOT NULL
         AND EXISTS (SELECT 1 FROM redemptions WHERE redemption_id = ?2 AND applied = 0)`,
    ).bind(offer.offerId, redemptionId),
    env.DB.prepare("UPDATE redemptions SET applied = 1 WHERE redemption_id = ?1").bind(redemptionId),
  ]);
  const r = schema.redemptions;
  const [row] = await db.select().from(r).where(eq(r.redemptionId, redemptionId));
  if (row && same(row)) return redemptionJson(row);

  await refund(env, input.userId, `redemption-refund:${redemptionId}`, offer.pointsCost, `offer ${offer.offerId} refused`);
  if (row) throw new ApiError("idempotency_conflict", `redemption ${redemptionId} was already used with a different payload`);
  throw new ApiError("out_of_stock", `offer ${input.offerId} is out of stock`);
}

/**
 * Donates points to a charity: debit the wallet (ref `donation:<id>`), then in one D1 batch
 * record the donation and add it to the charity's total, once. Refusals are refunded as for
 * redemptions.
 */
export async function donate(
  env: Env,
  input: { userId: string; charityId: string; points: number; donationId?: string },
): Promise<DonationJson> {
  const db = database(env.DB);
  const donationId = input.donationId ?? crypto.randomUUID();
  const same = (row: DonationRow) =>
    sameTerms(
      { userId: row.userId, charityId: row.charityId, points: row.points },
      { userId: input.userId, charityId: input.charityId, points: input.points },
    );

  const [earlier] = await db.select().from(schema.donations).where(eq(schema.donations.donationId, donationId));
  if (earlier) {
    if (same(earlier)) return donationJson(earlier);
    throw new ApiError("idempotency_conflict", `donation ${donationId} was already used with a different payload`);
  }
  const [charity] = await db.select().from(schema.charities).where(eq(schema.charities.charityId, input.charityId));
  if (!charity) throw new ApiError("not_found", `no charity ${input.charityId}`);

  const reason = `charity ${charity.charityId}`;
  const debit = unwrap(
    await userStub(env, input.userId).debitPoints({ ref: `donation:${donationId}`, reason, points: input.points }),
  );
  if (debit.replayed && !sameDebit(debit.entry, reason, input.points)) {
    throw new ApiError("idempotency_conflict", `donation ${donationId} was already used with a different payload`);
  }

  const donatedAt = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO donations (donation_id, user_id, charity_id, points, donated_at, applied)
       VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (donation_id) DO NOTHING`,
    ).bind(donationId, input.userId, charity.charityId, input.points, donatedAt),
    env.DB.prepare(
      `UPDATE charities SET points_donated = points_donated + ?1
       WHERE charity_id = ?2 AND EXISTS (SELECT 1 FROM donations WHERE donation_id = ?3 AND applied = 0)`,
    ).bind(input.points, charity.charityId, donationId),
    env.DB.prepare("UPDATE donations SET applied = 1 WHERE donation_id = ?1").bind(donationId),
  ]);
  const d = schema.donations;
  const [row] = await db.select().from(d).where(eq(d.donationId, donationId));
  if (row && same(row)) return donationJson(row);

  await refund(env, input.userId, `donation-refund:${donationId}`, input.points, `charity ${charity.charityId} refused`);
  throw new ApiError("idempotency_conflict", `donation ${donationId} was already used with a different payload`);
}

function sameDebit(entry: WalletEntry, reason: string, points: number): boolean {
  return sameTerms({ reason: entry.reason, points: entry.points }, { reason, points: -points });
}

async function refund(env: Env, userId: string, ref: string, points: number, reason: string): Promise<void> {
  unwrap(await userStub(env, userId).credit({ ref, reason, points }));
}

export type RewardsGroupBy = "offer" | "charity" | "day";

export interface RewardsReportCounts {
  redemptions: number;
  pointsRedeemed: number;
  donations: number;
  pointsDonated: number;
}

export type RewardsReportRow = RewardsReportCounts & ({ offerId: string } | { charityId: string } | { day: string });

const utcDay = (column: string) => `strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch')`;

/**
 * Redemptions and donations in `[from, to)` summed in SQL by offer, by charity or by UTC day. By
 * offer the donation counts are 0 (a donation names no offer), by charity the redemption counts;
 * by day both. Offers and charities with the most points first, days oldest first.
 */
export async function rewardsReport(
  d1: D1Database,
  groupBy: RewardsGroupBy,
  range: { from: number; to: number },
): Promise<RewardsReportRow[]> {
  const parts: string[] = [];
  if (groupBy !== "charity") {
    const key = groupBy === "day" ? utcDay("redeemed_at") : "offer_id";
    parts.push(
      `SELECT ${key} AS key, COUNT(*) AS redemptions, SUM(points) AS points_redeemed, 0 AS donations, 0 AS points_donated
       FROM redemptions WHERE redeemed_at >= ?1 AND redeemed_at < ?2 GROUP BY 1`,
    );
  }
  if (groupBy !== "offer") {
    const key = groupBy === "day" ? utcDay("donated_at") : "charity_id";
    parts.push(
      `SELECT ${key} AS key, 0 AS redemptions, 0 AS points_redeemed, COUNT(*) AS donations, SUM(points) AS points_donated
       FROM donations WHERE donated_at >= ?1 AND donated_at < ?2 GROUP BY 1`,
    );
  }
  const order = groupBy === "day" ? "key" : "SUM(points_redeemed) + SUM(points_donated) DESC, key";
  const { results } = await d1
    .prepare(
      `SELECT key, SUM(redemptions) AS redemptions, SUM(points_redeemed) AS points_redeemed,
              SUM(donations) AS donations, SUM(points_donated) AS points_donated
       FROM (${parts.join(" UNION ALL ")}) GROUP BY key ORDER BY ${order}`,
    )
    .bind(range.from, range.to)
    .all<{ key: string; redemptions: number; points_redeemed: number; donations: number; points_donated: number }>();
  const keyOf = (key: string) => (groupBy === "offer" ? { offerId: key } : groupBy === "charity" ? { charityId: key } : { day: key });
  return results.map((row) => ({
    ...keyOf(row.key),
    redemptions: row.redemptions,
    pointsRedeemed: row.points_redeemed,
    donations: row.donations,
    pointsDonated: row.points_donated,
  }));
}
