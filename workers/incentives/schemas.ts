import { z } from "zod";
import { eventIdSchema, idJsonSchema, idSchema } from "../../shared/ids.ts";
import { DAY_MS, isoUtcSchema } from "../../shared/time.ts";
import { unprocessableIssue } from "../../shared/validation.ts";

/** Oldest an event may be: streak days older than this are not kept (422). */
export const MAX_EVENT_AGE_DAYS = 400;

/** Longest streak a rule may ask for: ten years of days. */
export const MAX_STREAK_DAYS = 3660;

/** Farthest east and west a local time can be: UTC−12:00 to UTC+14:00. */
export const MIN_UTC_OFFSET_MINUTES = -12 * 60;
export const MAX_UTC_OFFSET_MINUTES = 14 * 60;

/** An event name such as `data-logged` or `birth-reported`: any name an app chooses to send. */
export const eventNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "must be letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
  .meta({ example: "data-logged" });

/** Most events a `count` rule may ask for. */
export const MAX_COUNT_TIMES = 100_000;

const streakRuleShape = { kind: z.literal("streak"), event: eventNameSchema, days: z.number().int().min(1).max(MAX_STREAK_DAYS) };
const onceRuleShape = { kind: z.literal("once"), event: eventNameSchema };
const countRuleShape = {
  kind: z.literal("count"),
  event: eventNameSchema,
  times: z.number().int().min(1).max(MAX_COUNT_TIMES),
  withinDays: z.number().int().min(1).max(MAX_STREAK_DAYS),
};

const ruleMeta = {
  description:
    "`streak`: the event on `days` consecutive local days; `once`: the event happens; " +
    "`count`: `times` events (distinct event ids) within some `withinDays` consecutive local days",
  example: { kind: "streak", event: "data-logged", days: 5 },
};

export const ruleSchema = z
  .discriminatedUnion("kind", [z.object(streakRuleShape), z.object(onceRuleShape), z.object(countRuleShape)])
  .meta({ id: "IncentiveRule", ...ruleMeta });

/** The fields each rule kind has; another kind's field (`times` on a streak) is 422. */
const RULE_FIELDS: Record<Rule["kind"], ReadonlySet<string>> = {
  streak: new Set(Object.keys(streakRuleShape)),
  once: new Set(Object.keys(onceRuleShape)),
  count: new Set(Object.keys(countRuleShape)),
};

/** Documents a variant that keeps unknown keys (to name them in the 422) as closed, which it is. */
const DOCUMENTED_CLOSED = { additionalProperties: false };

/**
 * A rule as a request sends it: the fields of its kind only. The variants keep unknown keys so
 * that a field of another kind is named in a 422 rather than dropped unseen.
 */
export const ruleInputSchema = z
  .discriminatedUnion("kind", [
    z.looseObject(streakRuleShape).meta(DOCUMENTED_CLOSED),
    z.looseObject(onceRuleShape).meta(DOCUMENTED_CLOSED),
    z.looseObject(countRuleShape).meta(DOCUMENTED_CLOSED),
  ])
  .superRefine((rule, ctx) => {
    for (const key of Object.keys(rule)) {
      if (!RULE_FIELDS[rule.kind].has(key)) ctx.addIssue(unprocessableIssue([key], `is not a field of a ${rule.kind} rule`));
    }
  })
  .meta({ id: "IncentiveRuleInput", ...ruleMeta });

export type Rule = z.output<typeof ruleSchema>;

export const rewardSchema = z
  .object({ description: z.string().trim().min(1).max(500) })
  .meta({ id: "Reward", example: { description: "Pregnancy pillow" } });

export const newIncentiveSchema = z.object({
  incentiveId: idSchema.optional(),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).default(""),
  rule: ruleInputSchema,
  active: z.boolean().default(true),
});

export const incentivePatchSchema = z
  .object({
    name: newIncentiveSchema.shape.name.optional(),
    description: z.string().max(2000).optional(),
    rule: ruleInputSchema.optional().meta({
      description: "The same `kind` and `event` as before (422 otherwise); `days`, `times` and `withinDays` may change",
    }),
    active: z.boolean().optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: "names nothing to change", path: [] });

export type IncentivePatch = z.output<typeof incentivePatchSchema>;

export const incentiveSchema = z
  .object({
    incentiveId: idJsonSchema,
    name: z.string(),
    description: z.string(),
    rule: ruleSchema,
    active: z.boolean(),
  })
  .meta({ id: "Incentive" });

export type IncentiveJson = z.output<typeof incentiveSchema>;

export const employerIncentiveLinkSchema = z.object({
  employerIncentiveId: idSchema.optional(),
  incentiveId: idSchema,
  reward: rewardSchema,
  countFrom: z
    .enum(["history", "attach"])
    .default("history")
    .meta({ description: "`history`: days logged before the attach count, and users they already satisfy are awarded within 60 s; `attach`: only days from the attach's day on" }),
  shareWithWebhooks: z
    .boolean()
    .default(false)
    .meta({ description: "Opt-in: `incentive.awarded` webhook events carry the awarded user's id and the reward text. Off by default: they carry the award, employer and incentive ids only" }),
});

export const employerIncentiveSchema = z
  .object({
    employerIncentiveId: idJsonSchema,
    employerId: idJsonSchema,
    programId: idJsonSchema,
    incentiveId: idJsonSchema,
    reward: rewardSchema,
    shareWithWebhooks: z.boolean().meta({ description: "Whether `incentive.awarded` webhooks carry the user id and reward text" }),
    detachedAt: z.string().optional().meta({ description: "When it was detached; absent while attached" }),
  })
  .meta({ id: "EmployerIncentive" });

export type EmployerIncentiveJson = z.output<typeof employerIncentiveSchema>;

export const incentiveEventSchema = z
  .object({
    eventId: eventIdSchema.optional(),
    userId: idSchema,
    employerId: idSchema,
    event: eventNameSchema,
    timestamp: isoUtcSchema,
    utcOffsetMinutes: z.number().int().min(MIN_UTC_OFFSET_MINUTES).max(MAX_UTC_OFFSET_MINUTES).default(0),
  })
  .superRefine((event, ctx) => {
    if (event.timestamp < Date.now() - MAX_EVENT_AGE_DAYS * DAY_MS) {
      ctx.addIssue(unprocessableIssue(["timestamp"], `must be within the last ${MAX_EVENT_AGE_DAYS} days`));
    }
  })
  .meta({
    id: "IncentiveEvent",
    example: {
      eventId: "evt-1",
      userId: "42",
      employerId: "7",
      event: "data-logged",
      timestamp: "2026-01-05T08:00:00.000Z",
      utcOffsetMinutes: 60,
    },
  });

export const streakSchema = z
  .object({
    employerId: idJsonSchema,
    event: z.string(),
    current: z.number().int(),
    longest: z.number().int(),
    lastDay: z.string().meta({ example: "2026-01-05" }),
  })
  .meta({ id: "Streak" });

export const awardSchema = z
  .object({
    awardId: z.string(),
    userId: idJsonSchema,
    employerId: idJsonSchema,
    employerIncentiveId: idJsonSchema,
    incentiveId: idJsonSchema,
    reward: rewardSchema,
    awardedAt: z.string(),
    fulfilledAt: z.string().nullable().meta({ description: "When the fulfilment consumer handled it; null until then" }),
  })
  .meta({ id: "IncentiveAward" });

export type AwardJson = z.output<typeof awardSchema>;

export const progressSchema = z
  .object({
    userId: idJsonSchema,
    employerIncentiveId: idJsonSchema,
    current: z.number().int().meta({
      description:
        "streak: consecutive days ending at the user's latest day; count: events within the `withinDays` days ending at the latest event's day; once: 0 or 1",
    }),
    needed: z.number().int().meta({ description: "`days`, `times`, or 1 for a one-off" }),
    awarded: z.boolean(),
  })
  .meta({ id: "IncentiveProgress" });

export type ProgressJson = z.output<typeof progressSchema>;

/** Where a page of awards ends: the last award's `awardedAt` and id (awards are listed newest first). */
export const awardPositionSchema = z.tuple([z.number().int(), z.string()]);
export type AwardPosition = z.output<typeof awardPositionSchema>;

/** Where a page of progress ends: the last row's user id and employer incentive id (both ascending). */
export const progressPositionSchema = z.tuple([z.number().int(), z.string().regex(/^\d{1,16}$/)]);
export type ProgressPosition = z.output<typeof progressPositionSchema>;
