import { z } from "zod";
import { DAY_MS, MINUTE_MS, timeRangeSchema } from "../../shared/time.ts";

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const MAX_TEXT = 256;

const text = (example: string) => z.string().min(1).max(MAX_TEXT).meta({ example });

/**
 * A user tag as Allezon's clients send it: `time` with or without milliseconds, `product_id` a
 * string or an integer. Validation parses `time` once, to epoch ms, for everything after it.
 */
export const userTagSchema = z
  .object({
    time: z
      .string()
      .meta({ format: "date-time", example: "2022-03-22T12:15:00.000Z" })
      .transform((value, ctx) => {
        const ms = parseTagTime(value);
        if (Number.isNaN(ms)) {
          ctx.addIssue({ code: "custom", message: "must be ISO 8601 UTC such as 2022-03-22T12:15:00.000Z" });
          return z.NEVER;
        }
        return ms;
      }),
    cookie: text("b9f1e2c4"),
    country: text("PL"),
    device: z.enum(["PC", "MOBILE", "TV"]),
    action: z.enum(["VIEW", "BUY"]),
    origin: text("ads-campaign-7"),
    product_info: z.object({
      product_id: z.union([text("4711"), z.number().int().refine(Number.isSafeInteger, "must be a safe integer")]),
      brand_id: text("Nike"),
      category_id: text("Sneakers"),
      price: z.number().int().min(INT32_MIN).max(INT32_MAX).meta({ description: "int32", example: 19999 }),
    }),
  })
  .meta({ id: "UserTag" });

/** A validated tag; `time` is epoch ms. */
export type UserTagInput = z.output<typeof userTagSchema>;

/** A tag as stored and echoed: the accepted shape with `time` normalized to milliseconds and `Z`. */
export interface UserTag {
  time: string;
  cookie: string;
  country: string;
  device: "PC" | "MOBILE" | "TV";
  action: "VIEW" | "BUY";
  origin: string;
  product_info: { product_id: string | number; brand_id: string; category_id: string; price: number };
}

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/**
 * Parses an Allezon range bound such as `2022-03-01T00:00:01.610` or `2022-03-01T00:00:01`
 * (UTC, no `Z`) to epoch ms, or NaN. Calendar overflow (February 30) is refused rather than
 * rolled over, as `Date.parse` would.
 */
export function parseRangeBound(text: string): number {
  const match = LOCAL_TIME.exec(text);
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((match[7] ?? "").padEnd(3, "0"));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const back = new Date(ms);
  const exact =
    back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day &&
    back.getUTCHours() === hour && back.getUTCMinutes() === minute && back.getUTCSeconds() === second;
  return exact ? ms : Number.NaN;
}

/** A tag's `time`: `2022-03-22T12:15:00.000Z`, milliseconds optional; epoch ms or NaN. */
export function parseTagTime(text: string): number {
  return text.endsWith("Z") ? parseRangeBound(text.slice(0, -1)) : Number.NaN;
}

/**
 * Allezon's `time_range=<from>_<to>`: the shared parser with Allezon's ends (UTC without `Z`, strict
 * calendar), an empty range allowed, and for aggregates whole minutes (every granularity's bucket is; the
 * bucket and span rules of each granularity follow in `aggregatesQuerySchema`, once it has parsed).
 * `to` before `from` is well-formed but impossible (422).
 */
function allezonTimeRangeSchema(wholeMinutes: boolean) {
  const example = wholeMinutes ? "2022-03-01T00:05:00_2022-03-01T00:10:00" : "2022-03-01T00:00:01.610_2022-03-01T00:05:00";
  return timeRangeSchema({
    parseEnd: parseRangeBound,
    malformed: "must be <from>_<to> such as 2022-03-01T00:00:01.610_2022-03-01T00:05:00 (UTC, no Z)",
    checks: wholeMinutes
      ? [
          ({ from, to }) => (from % MINUTE_MS !== 0 || to % MINUTE_MS !== 0 ? "both ends must be whole minutes such as 2022-03-01T00:05:00" : undefined),
        ]
      : [],
    allowEmpty: true,
    backwards: "`to` is before `from`",
    meta: { example, description: "`<from>_<to>`, UTC without `Z`, `from` inclusive, `to` exclusive" },
  });
}

export const MAX_AGGREGATE_RANGE_MS = 10 * MINUTE_MS;

/** Aggregate bucket sizes: Allezon's minutes, and Tally's hours and days for longer trends. */
export const GRANULARITIES = ["minute", "hour", "day"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Per granularity: the bucket length, the longest range, and how both read in a 400 answer. */
export const GRANULARITY_RULES: Record<Granularity, { bucketMs: number; maxRangeMs: number; unit: string; example: string; most: string }> = {
  minute: { bucketMs: MINUTE_MS, maxRangeMs: MAX_AGGREGATE_RANGE_MS, unit: "minutes", example: "2022-03-01T00:05:00", most: "10 minutes" },
  hour: { bucketMs: 60 * MINUTE_MS, maxRangeMs: 31 * DAY_MS, unit: "hours", example: "2022-03-01T05:00:00", most: "31 days" },
  day: { bucketMs: DAY_MS, maxRangeMs: 400 * DAY_MS, unit: "days (UTC)", example: "2022-03-01T00:00:00", most: "400 days" },
};

export const MAX_PROFILE_LIMIT = 200;

export const cookieParamSchema = z.object({
  cookie: z.string().min(1).max(MAX_TEXT).meta({ example: "b9f1e2c4" }),
});

export const profileQuerySchema = z.object({
  time_range: allezonTimeRangeSchema(false),
  limit: z.coerce.number().int().min(1).max(MAX_PROFILE_LIMIT).default(MAX_PROFILE_LIMIT).meta({ example: 200 }),
});

const AGGREGATES = ["COUNT", "SUM_PRICE"] as const;

export const aggregatesQuerySchema = z
  .object({
    time_range: allezonTimeRangeSchema(true),
    action: z.enum(["VIEW", "BUY"]),
    aggregates: z
      .union([z.enum(AGGREGATES), z.array(z.enum(AGGREGATES)).min(1)])
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .meta({ description: "Repeat the parameter for several; the columns keep this order", example: ["COUNT", "SUM_PRICE"] }),
    origin: text("ads-campaign-7").optional(),
    brand_id: text("Nike").optional(),
    category_id: text("Sneakers").optional(),
    granularity: z.enum(GRANULARITIES).default("minute").meta({
      description:
        "Bucket size (Tally's extension): `minute` (default; whole minutes, at most 10), `hour` (whole hours, at most 31 days) " +
        "or `day` (whole UTC days, at most 400 days)",
      example: "minute",
    }),
  })
  .superRefine((query, ctx) => {
    // The range rules depend on the granularity, so they are checked once both have parsed.
    if (!query.time_range) return;
    const { from, to } = query.time_range;
    const rule = GRANULARITY_RULES[query.granularity];
    if (from % rule.bucketMs !== 0 || to % rule.bucketMs !== 0) {
      ctx.addIssue({ code: "custom", path: ["time_range"], message: `both ends must be whole ${rule.unit} such as ${rule.example}` });
    } else if (to - from > rule.maxRangeMs) {
      ctx.addIssue({ code: "custom", path: ["time_range"], message: `spans more than ${rule.most}` });
    }
  });

export type AggregatesQuery = z.output<typeof aggregatesQuerySchema>;

export const profileSchema = z
  .object({ cookie: z.string(), views: z.array(userTagSchema), buys: z.array(userTagSchema) })
  .meta({ id: "UserProfile" });

export const aggregatesSchema = z
  .object({ columns: z.array(z.string()), rows: z.array(z.array(z.string())) })
  .meta({ id: "Aggregates", example: { columns: ["1m_bucket", "action", "count"], rows: [["2022-03-01T00:05:00", "BUY", "3"]] } });
