/**
 * Request and response schemas of API.md §3. The same schemas validate requests and generate the
 * OpenAPI document.
 */
import { z } from "zod";
import { AD_CAMPAIGN_STATUSES, AD_EVENT_TYPES } from "../../durable-objects/ad-campaign/budget.ts";
import { bucketCount, GRANULARITIES, MAX_BUCKETS } from "../../durable-objects/ad-campaign/performance.ts";
import { eventIdSchema, idJsonSchema, idSchema } from "../../shared/ids.ts";
import { moneyJsonSchema, nullableMoneyJsonSchema, positiveMoneySchema } from "../../shared/money.ts";
import { isoTimeRangeSchema, isoUtcSchema, MINUTE_MS } from "../../shared/time.ts";
import { unprocessableIssue } from "../../shared/validation.ts";

/** An event whose timestamp is further ahead of the server's clock than this is refused (422). */
export const MAX_CLOCK_SKEW_MS = 5 * MINUTE_MS;

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
  })
  .superRefine((campaign, ctx) => {
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
    const buckets = bucketCount(query.time_range.from, query.time_range.to, query.granularity);
    if (buckets > MAX_BUCKETS) {
      ctx.addIssue({
        code: "custom",
        path: ["time_range"],
        message: `spans ${buckets} ${query.granularity} buckets; at most ${MAX_BUCKETS} (narrow the range or use a coarser granularity)`,
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
