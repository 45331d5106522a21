import type { Money, MoneyJson } from "./money.ts";
import { z } from "zod";
import { eventIdSchema, idJsonSchema, idSchema } from "./ids.ts";
import { moneyJsonSchema, positiveMoneySchema, rateSchema } from "./money.ts";
import { isoUtcSchema } from "./time.ts";
import { unprocessableIssue } from "./validation.ts";

export type CampaignStatus = "scheduled" | "active" | "ended" | "settled";

/** What a CampaignBoard needs to know about its campaign. Times are epoch ms. */
export interface CampaignTerms {
  campaignId: string;
  itemId: string;
  prize: Money;
  startAt: number;
  endAt: number;
}

/** A purchase that qualified for the board's campaign, already in the campaign's currency. */
export interface BoardPurchase {
  purchaseId: string;
  userId: string;
  amount: Money;
  timestamp: number;
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

export const campaignInputSchema = z
  .object({
    campaignId: idSchema.optional(),
    itemId: idSchema,
    prize: positiveMoneySchema,
    startDateTime: isoUtcSchema,
    endDateTime: isoUtcSchema,
  })
  .superRefine((input, ctx) => {
    if (input.endDateTime <= input.startDateTime) {
      ctx.addIssue(unprocessableIssue(["endDateTime"], "must be after startDateTime"));
    }
  });

export const campaignSchema = z
  .object({
    campaignId: idJsonSchema,
    itemId: idJsonSchema,
    prize: moneyJsonSchema,
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

export const exchangeRatesInputSchema = z.object({
  base: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
  rates: z
    .record(z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"), rateSchema)
    .refine((rates) => Object.keys(rates).length > 0, "must name at least one currency"),
  effectiveFrom: isoUtcSchema,
});
