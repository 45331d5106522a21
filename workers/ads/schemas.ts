/**
 * Request and response schemas of the ads API. The same schemas validate requests and generate the
 * OpenAPI document.
 */
import { z } from "zod";
import { AD_CAMPAIGN_STATUSES, AD_EVENT_TYPES, PACINGS } from "../../durable-objects/ad-campaign/budget.ts";
import { GRANULARITIES, MAX_RANGE_MS } from "../../durable-objects/ad-campaign/performance.ts";
import { eventIdSchema, idJsonSchema, idSchema } from "../../shared/ids.ts";
import { moneyJsonSchema, nullableMoneyJsonSchema, positiveMoneySchema } from "../../shared/money.ts";
import { DAY_MS, isoTimeRangeSchema, isoUtcSchema, MINUTE_MS } from "../../shared/time.ts";
import { unprocessableIssue } from "../../shared/validation.ts";

/** An event whose timestamp is further ahead of the server's clock than this is refused (422). */
export const MAX_CLOCK_SKEW_MS = 5 * MINUTE_MS;

export const frequencyCapSchema = z
  .object({
    impressionsPerUserPerDay: z.number().int().min(1).max(1_000_000),
  })
  .meta({ description: "Serving skips the campaign for a user who had this many impressions of it today (UTC)" });

const pacingSchema = z
  .enum(PACINGS)
  .meta({ description: "`even` spreads the daily budget over the UTC day (needs a dailyBudget); `asap` serves while budget is left" });

export const newAdCampaignSchema = z
  .object({
    adCampaignId: idSchema.optional().meta({ description: "Assigned when missing; resending the same campaign with it returns it" }),
    advertiserId: idSchema,
    name: z.string().trim().min(1).max(200),
    cpc: positiveMoneySchema.meta({ description: "Charged per click, cut to what is left of either budget" }),
    dailyBudget: positiveMoneySchema.nullish().meta({ description: "Renewed at 00:00 UTC; none when missing" }),
    totalBudget: positiveMoneySchema,
    startDateTime: isoUtcSchema,
    endDateTime: isoUtcSchema.nullish(),
    frequencyCap: frequencyCapSchema.nullable().optional(),
    pacing: pacingSchema.default("asap"),
  })
  .superRefine((campaign, ctx) => {
    if (campaign.pacing === "even" && campaign.dailyBudget == null) {
      ctx.addIssue(unprocessableIssue(["pacing"], "even pacing needs a dailyBudget"));
    }
    const currency = campaign.cpc.currency;
    for (const field of ["dailyBudget", "totalBudget"] as const) {
      const money = campaign[field];
      if (money && money.currency !== currency) {
        ctx.addIssue(unprocessableIssue([field, "currency"], `must be the cpc's currency, ${currency}`));
      }
    }
    if (campaign.endDateTime != null && campaign.endDateTime <= campaign.startDateTime) {
      ctx.addIssue(unprocessableIssue(["endDateTime"], "must be after startDateTime"));
    }
  });

export type NewAdCampaign = z.output<typeof newAdCampaignSchema>;

/** `PATCH /ads/campaigns/{id}`: any of these; null removes `dailyBudget`, `endDateTime` or `frequencyCap`. */
export const adCampaignPatchSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    cpc: positiveMoneySchema.optional(),
    dailyBudget: positiveMoneySchema.nullable().optional(),
    totalBudget: positiveMoneySchema.optional(),
    endDateTime: isoUtcSchema.nullable().optional(),
    frequencyCap: frequencyCapSchema.nullable().optional(),
    pacing: pacingSchema.optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "name at least one field to change")
  .meta({ id: "AdCampaignPatch" });

export const adEventSchema = z.object({
  eventId: eventIdSchema.optional().meta({ description: "Assigned when missing; unique per ad campaign" }),
  type: z.enum(AD_EVENT_TYPES),
  adCampaignId: idSchema,
  userId: idSchema.optional(),
  // Formats stated: the generator writes `ip` for both, a union of one schema twice to a reader.
  ip: z.union([z.ipv4().meta({ format: "ipv4" }), z.ipv6().meta({ format: "ipv6" })], { error: "must be an IPv4 or IPv6 address" }).optional(),
  timestamp: isoUtcSchema
    .meta({ description: "Event time: it places the event in the performance buckets and the duplicate-click window" })
    .superRefine((timestamp, ctx) => {
      if (timestamp > Date.now() + MAX_CLOCK_SKEW_MS) {
        ctx.addIssue(unprocessableIssue([], "must not be more than 5 minutes in the future"));
      }
    }),
});

/** Performance counters are kept per minute, so a range must start and end on whole minutes. */
const timeRangeSchema = isoTimeRangeSchema.refine(
  (range) => range.from % MINUTE_MS === 0 && range.to % MINUTE_MS === 0,
  "from and to must fall on whole minutes (counters are kept per minute)",
);

export const performanceQuerySchema = z
  .object({
    time_range: timeRangeSchema,
    granularity: z.enum(GRANULARITIES).default("hour"),
  })
  .superRefine((query, ctx) => {
    if (!query.time_range) return;
    const limit = MAX_RANGE_MS[query.granularity];
    if (query.time_range.to - query.time_range.from > limit) {
      ctx.addIssue({
        code: "custom",
        path: ["time_range"],
        message: `spans more than ${limit / DAY_MS} days, the most a ${query.granularity} report covers (narrow it or use a coarser granularity)`,
      });
    }
  });

export const activeQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});

export const adCampaignSchema = z
  .object({
    adCampaignId: idJsonSchema,
    advertiserId: idJsonSchema,
    name: z.string(),
    cpc: moneyJsonSchema,
    dailyBudget: moneyJsonSchema.optional(),
    totalBudget: moneyJsonSchema,
    startDateTime: z.string(),
    endDateTime: z.string().optional(),
    frequencyCap: frequencyCapSchema.optional(),
    pacing: z.enum(PACINGS),
    status: z.enum(AD_CAMPAIGN_STATUSES),
  })
  .meta({ id: "AdCampaign" });

export const adCampaignViewSchema = adCampaignSchema
  .extend({
    spentToday: moneyJsonSchema,
    spentTotal: moneyJsonSchema,
    remainingToday: nullableMoneyJsonSchema.meta({ description: "null when the campaign has no daily budget" }),
    remainingTotal: moneyJsonSchema,
  })
  .meta({ id: "AdCampaignView" });

export const adEventAnswerSchema = z
  .object({
    eventId: z.string(),
    charged: nullableMoneyJsonSchema,
    reason: z.enum(["duplicate_click", "inactive", "budget_exhausted"]).optional(),
  })
  .meta({ id: "AdEventAnswer" });

const countersSchema = z.object({
  impressions: z.number().int(),
  views: z.number().int(),
  clicks: z.number().int().meta({ description: "Every click recorded, charged or not" }),
  chargedClicks: z.number().int(),
  ctr: z.string().meta({ description: "clicks / impressions, 4 decimals; \"0.0000\" without impressions", example: "0.0600" }),
  spend: moneyJsonSchema,
});

export const performanceSchema = z
  .object({
    totals: countersSchema,
    buckets: z.array(countersSchema.extend({ start: z.string() })),
  })
  .meta({ id: "AdPerformance" });

export const serveQuerySchema = z.object({
  userId: idSchema.meta({ description: "The user the ads are for; their impressions today count against each frequencyCap" }),
  slots: z.coerce.number().int().min(1).max(10).default(1),
});

export const servedAdsSchema = z
  .object({
    ads: z.array(z.object({ adCampaignId: idJsonSchema, cpc: moneyJsonSchema })),
  })
  .meta({ id: "ServedAds" });

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateSchema = z
  .string()
  .regex(DATE, "must be a date YYYY-MM-DD")
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), "must be a real date")
  .meta({ example: "2026-11-22" });

/** Billing lists at most this many days per request (both ends inclusive). */
export const MAX_BILLING_DAYS = 92;

export const billingQuerySchema = z
  .object({ from: dateSchema, to: dateSchema })
  .superRefine((query, ctx) => {
    if (!DATE.test(query.from) || !DATE.test(query.to)) return;
    const days = (Date.parse(`${query.to}T00:00:00Z`) - Date.parse(`${query.from}T00:00:00Z`)) / DAY_MS + 1;
    if (days < 1) ctx.addIssue(unprocessableIssue(["to"], "must not be before from"));
    else if (days > MAX_BILLING_DAYS) ctx.addIssue({ code: "custom", path: ["to"], message: `at most ${MAX_BILLING_DAYS} days from from` });
  });

export const billingDaySchema = z.object({
  date: z.string(),
  adCampaignId: idJsonSchema,
  advertiserId: idJsonSchema,
  impressions: z.number().int(),
  clicks: z.number().int(),
  chargedClicks: z.number().int(),
  spend: moneyJsonSchema,
});

export const billingSchema = z.object({ days: z.array(billingDaySchema) }).meta({ id: "AdBilling" });
