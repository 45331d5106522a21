import type { campaigns } from "./db/schema.ts";
import type { Money, MoneyJson } from "./money.ts";
import { z } from "zod";
import { eventIdSchema, idJsonSchema, idSchema } from "./ids.ts";
import { moneyJsonSchema, positiveMoneySchema, rateSchema } from "./money.ts";
import { isoUtcSchema } from "./time.ts";
import { unprocessableIssue } from "./validation.ts";

export type CampaignStatus = "scheduled" | "active" | "ended" | "settled";

/** A prize for each position from `fromPosition` to `toPosition` (inclusive), in the campaign's currency. */
export interface PrizeTier {
  fromPosition: number;
  toPosition: number;
  prize: Money;
}

/** Most positions all of a campaign's tiers may cover together. */
export const MAX_TIER_POSITIONS = 100;

/** What a CampaignBoard needs to know about its campaign. Times are epoch ms. */
export interface CampaignTerms {
  campaignId: string;
  itemId: string;
  /** The prize of position 0. */
  prize: Money;
  /** Tiers for positions 1 and below; absent when there are none. */
  prizes?: PrizeTier[];
  startAt: number;
  endAt: number;
}

/** A leaderboard campaign as D1's `campaigns` table stores it (the catalogue's row). */
export type CampaignRow = typeof campaigns.$inferSelect;

/** The stored tiers; none when the campaign has no `prizes`. */
export function tiersOf(row: CampaignRow): PrizeTier[] {
  if (row.prizes === null) return [];
  const stored = JSON.parse(row.prizes) as { fromPosition: number; toPosition: number; prizeMinor: number }[];
  return stored.map(({ fromPosition, toPosition, prizeMinor }) => ({ fromPosition, toPosition, prize: { minor: prizeMinor, currency: row.currency } }));
}

/**
 * The terms of a catalogue row, as a CampaignBoard takes them. Here rather than in the catalogue
 * worker because the board reads its own row back from D1 when it heals itself.
 */
export function termsOf(row: CampaignRow): CampaignTerms {
  return {
    campaignId: String(row.campaignId),
    itemId: String(row.itemId),
    prize: { minor: row.prizeMinor, currency: row.currency },
    ...(row.prizes !== null ? { prizes: tiersOf(row) } : {}),
    startAt: row.startAt,
    endAt: row.endAt,
  };
}

/** Every paid position with its prize, position 0 first, in position order. */
export function paidPositions(terms: Pick<CampaignTerms, "prize" | "prizes">): { position: number; prize: Money }[] {
  const paid = [{ position: 0, prize: terms.prize }];
  for (const tier of terms.prizes ?? []) {
    for (let position = tier.fromPosition; position <= tier.toPosition; position++) paid.push({ position, prize: tier.prize });
  }
  return paid.sort((a, b) => a.position - b.position);
}

/** A purchase that qualified for the board's campaign, already in the campaign's currency. */
export interface BoardPurchase {
  purchaseId: string;
  userId: string;
  amount: Money;
  timestamp: number;
  /** The `x-request-id` of the purchase's HTTP request, for the board's log line. */
  httpRequestId?: string;
}

export interface RankedRecord {
  campaignId: string;
  userId: string;
  /** Null while the user has no display name. */
  displayName: string | null;
  position: number;
  total: MoneyJson;
}

/** Messages on a live leaderboard socket. */
export type LiveMessage =
  | { type: "top"; campaignId: string; positions: Omit<RankedRecord, "campaignId">[]; asOf: string }
  | ({ type: "position" } & RankedRecord);

/**
 * When a campaign stops counting purchases: its scheduled `endAt`, or an admin's early end
 * (`endedAt`) when that came first. Every reader of "the end" goes through this.
 */
export function effectiveEndAt(campaign: { endAt: number; endedAt: number | null }): number {
  return campaign.endedAt === null ? campaign.endAt : Math.min(campaign.endAt, campaign.endedAt);
}

/** Status at `now` from the schedule: an early end counts as the end. */
export function campaignStatus(row: { startAt: number; endAt: number; endedAt: number | null; settledAt: number | null }, now: number): CampaignStatus {
  if (row.settledAt !== null) return "settled";
  if (now >= effectiveEndAt(row)) return "ended";
  if (now >= row.startAt) return "active";
  return "scheduled";
}

// ---- HTTP schemas ---------------------------------------------------------------------------

const prizeTierSchema = z
  .object({
    fromPosition: z.number().int("must be a whole number").min(1, "must be 1 or more: position 0 is `prize`"),
    toPosition: z.number().int("must be a whole number").min(1, "must be 1 or more: position 0 is `prize`"),
    prize: positiveMoneySchema,
  })
  .superRefine((tier, ctx) => {
    if (tier.toPosition < tier.fromPosition) ctx.addIssue(unprocessableIssue(["toPosition"], "must not be below fromPosition"));
  });

/** `prizes` as POST and PATCH take it: whether the tiers fit each other (the currency is checked against `prize`). */
export const prizeTiersSchema = z
  .array(prizeTierSchema)
  .max(MAX_TIER_POSITIONS)
  .superRefine((tiers, ctx) => {
    const sorted = tiers.map((tier, index) => ({ tier, index })).sort((a, b) => a.tier.fromPosition - b.tier.fromPosition);
    let reach = 0;
    for (const { tier, index } of sorted) {
      if (tier.fromPosition <= reach) ctx.addIssue(unprocessableIssue([index, "fromPosition"], "overlaps another tier"));
      reach = Math.max(reach, tier.toPosition);
    }
    const covered = tiers.reduce((sum, tier) => sum + Math.max(0, tier.toPosition - tier.fromPosition + 1), 0);
    if (covered > MAX_TIER_POSITIONS) ctx.addIssue(unprocessableIssue([], `cover ${covered} positions; at most ${MAX_TIER_POSITIONS} in all`));
  });

/** Adds a 422 issue for every tier whose prize is not in the currency of `prize`. */
export function checkTierCurrency(prize: Money, tiers: PrizeTier[] | undefined, ctx: z.RefinementCtx, path: PropertyKey[] = ["prizes"]): void {
  (tiers ?? []).forEach((tier, index) => {
    if (tier.prize.currency !== prize.currency) {
      ctx.addIssue(unprocessableIssue([...path, index, "prize", "currency"], `must be ${prize.currency}, the currency of prize`));
    }
  });
}

export const campaignInputSchema = z
  .object({
    campaignId: idSchema.optional(),
    itemId: idSchema,
    prize: positiveMoneySchema,
    prizes: prizeTiersSchema.optional(),
    startDateTime: isoUtcSchema,
    endDateTime: isoUtcSchema,
  })
  .superRefine((input, ctx) => {
    checkTierCurrency(input.prize, input.prizes, ctx);
    if (input.endDateTime <= input.startDateTime) {
      ctx.addIssue(unprocessableIssue(["endDateTime"], "must be after startDateTime"));
    }
  });

/** `PATCH /campaigns/{id}`: any of these; which may change depends on the campaign's status. */
export const campaignPatchSchema = z
  .object({
    itemId: idSchema.optional(),
    prize: positiveMoneySchema.optional(),
    prizes: prizeTiersSchema.optional(),
    startDateTime: isoUtcSchema.optional(),
    endDateTime: isoUtcSchema.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), "must change at least one field");

export const campaignSchema = z
  .object({
    campaignId: idJsonSchema,
    itemId: idJsonSchema,
    prize: moneyJsonSchema,
    prizes: z.array(z.object({ fromPosition: z.number().int(), toPosition: z.number().int(), prize: moneyJsonSchema })).optional(),
    startDateTime: z.string(),
    endDateTime: z.string(),
    status: z.enum(["scheduled", "active", "ended", "settled"]),
  })
  .meta({ id: "Campaign" });

export const purchaseInputSchema = z.object({
  purchaseId: eventIdSchema.optional(),
  userId: idSchema,
  itemId: idSchema,
  amount: positiveMoneySchema,
  timestamp: isoUtcSchema,
});

/** A display name as `PUT /users/{id}/profile` takes it; null on a leaderboard row while none is known. */
export const displayNameSchema = z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters");
const rowDisplayName = z.string().nullable().meta({ description: "The user's display name; null when none is known" });

export const positionSchema = z.object({ userId: idJsonSchema, displayName: rowDisplayName, position: z.number().int(), total: moneyJsonSchema });

export const recordSchema = z
  .object({ campaignId: idJsonSchema, userId: idJsonSchema, displayName: rowDisplayName, position: z.number().int(), total: moneyJsonSchema })
  .meta({ id: "CampaignRecord" });

export const winnerSchema = z
  .object({ campaignId: idJsonSchema, userId: idJsonSchema, total: moneyJsonSchema, prize: moneyJsonSchema, decidedAt: z.string() })
  .meta({ id: "CampaignWinner" });

export const winnersSchema = z
  .object({
    campaignId: idJsonSchema,
    decidedAt: z.string(),
    winners: z.array(
      z.object({ position: z.number().int(), userId: idJsonSchema, displayName: rowDisplayName, total: moneyJsonSchema, prize: moneyJsonSchema }),
    ),
  })
  .meta({ id: "CampaignWinners" });

export const exchangeRatesInputSchema = z.object({
  base: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
  rates: z
    .record(z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"), rateSchema)
    .refine((rates) => Object.keys(rates).length > 0, "must name at least one currency"),
  effectiveFrom: isoUtcSchema,
});
