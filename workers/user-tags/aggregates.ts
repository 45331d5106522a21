import { SHARD_MS, shardsOverlapping } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { tagAggregatesStub } from "../../durable-objects/tag-aggregates/stub.ts";
import { rollupDayOf, tagRollupsStub } from "../../durable-objects/tag-rollups/stub.ts";
import { DAY_MS } from "../../shared/time.ts";
import { GRANULARITY_RULES, type AggregatesQuery, type Granularity } from "./schemas.ts";

export interface AggregatesTable {
  columns: string[];
  rows: string[][];
}

/**
 * Exact totals of one bucket, named by its start (epoch ms). `sumPrice` may be decimal text: a
 * day of int32 prices can pass 2^53, past which a JavaScript number would round.
 */
export interface BucketTotal {
  bucket: number;
  count: number;
  sumPrice: number | string;
}

/** `2022-03-01T00:05:00`: the bucket start in UTC, without milliseconds or `Z`, as Allezon writes it. */
export function bucketLabel(start: number): string {
  return new Date(start).toISOString().slice(0, 19);
}

/** The first column's name: Allezon's `1m_bucket`, and by the same pattern `1h_bucket` and `1d_bucket`. */
export const BUCKET_COLUMN: Record<Granularity, string> = { minute: "1m_bucket", hour: "1h_bucket", day: "1d_bucket" };

const FILTER_COLUMNS = ["origin", "brand_id", "category_id"] as const;

/**
 * The Allezon table: one row per bucket of `[from, to)` at the query's granularity, oldest first,
 * zeros where no tag fell; columns `1m_bucket` (`1h_bucket`, `1d_bucket`), `action`, the filters
 * present (origin, brand_id, category_id in that order), then `count` / `sum_price` in the order
 * the query lists them. Every value is a string.
 */
export function aggregatesTable(query: AggregatesQuery, totals: readonly BucketTotal[]): AggregatesTable {
  const filters = FILTER_COLUMNS.filter((column) => query[column] !== undefined);
  const columns = [BUCKET_COLUMN[query.granularity], "action", ...filters, ...query.aggregates.map((a) => (a === "COUNT" ? "count" : "sum_price"))];
  const byBucket = new Map<number, { count: number; sumPrice: bigint }>();
  for (const total of totals) {
    const sum = byBucket.get(total.bucket) ?? { count: 0, sumPrice: 0n };
    sum.count += total.count;
    sum.sumPrice += BigInt(total.sumPrice);
    byBucket.set(total.bucket, sum);
  }
  const step = GRANULARITY_RULES[query.granularity].bucketMs;
  const rows: string[][] = [];
  for (let bucket = query.time_range.from; bucket < query.time_range.to; bucket += step) {
    const sum = byBucket.get(bucket);
    rows.push([
      bucketLabel(bucket),
      query.action,
      ...filters.map((column) => query[column] ?? ""),
      ...query.aggregates.map((a) => String(a === "COUNT" ? (sum?.count ?? 0) : (sum?.sumPrice ?? 0n))),
    ]);
  }
  return { columns, rows };
}

/**
 * Minutes come from the hour shards of the range (at most 10 minutes: one or two shards); hours and
 * days from the day's rollup of the query's action (at most 31 or 400 objects, all read in
 * parallel, each a range of at most 24 rows). A day bucket is the sum of its hours.
 */
export async function queryAggregates(env: Env, query: AggregatesQuery): Promise<AggregatesTable> {
  const { from, to } = query.time_range;
  const filter = { origin: query.origin, brandId: query.brand_id, categoryId: query.category_id };
  if (query.granularity === "minute") {
    const parts = await Promise.all(
      shardsOverlapping(from, to).map((start) =>
        tagAggregatesStub(env, start).totals({ from: Math.max(from, start), to: Math.min(to, start + SHARD_MS), action: query.action, ...filter }),
      ),
    );
    return aggregatesTable(query, parts.flat().map((t) => ({ bucket: t.minute, count: t.count, sumPrice: t.sumPrice })));
  }
  const days: number[] = [];
  for (let day = rollupDayOf(from); day < to; day += DAY_MS) days.push(day);
  const parts = await Promise.all(
    days.map(async (day) => {
      const hours = await tagRollupsStub(env, day, query.action).totals({ from: Math.max(from, day), to: Math.min(to, day + DAY_MS), ...filter });
      return hours.map((h) => ({ bucket: query.granularity === "day" ? day : h.hour, count: h.count, sumPrice: h.sumPrice }));
    }),
  );
  return aggregatesTable(query, parts.flat());
}
