import { SHARD_MS, shardsOverlapping, type MinuteTotal } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { tagAggregatesStub } from "../../durable-objects/tag-aggregates/stub.ts";
import { MINUTE_MS } from "../../shared/time.ts";
import type { AggregatesQuery } from "./schemas.ts";

export interface AggregatesTable {
  columns: string[];
  rows: string[][];
}

/** `2022-03-01T00:05:00`: the bucket start in UTC, without milliseconds or `Z`, as Allezon writes it. */
export function bucketLabel(minute: number): string {
  return new Date(minute).toISOString().slice(0, 19);
}

const FILTER_COLUMNS = ["origin", "brand_id", "category_id"] as const;

/**
 * The Allezon table: one row per minute of `[from, to)`, oldest first, zeros where no tag fell;
 * columns `1m_bucket`, `action`, the filters present (origin, brand_id, category_id in that
 * order), then `count` / `sum_price` in the order the query lists them. Every value is a string.
 */
export function aggregatesTable(query: AggregatesQuery, totals: readonly MinuteTotal[]): AggregatesTable {
  const filters = FILTER_COLUMNS.filter((column) => query[column] !== undefined);
  const columns = ["1m_bucket", "action", ...filters, ...query.aggregates.map((a) => (a === "COUNT" ? "count" : "sum_price"))];
  const byMinute = new Map<number, { count: number; sumPrice: number }>();
  for (const total of totals) {
    const sum = byMinute.get(total.minute) ?? { count: 0, sumPrice: 0 };
    sum.count += total.count;
    sum.sumPrice += total.sumPrice;
    byMinute.set(total.minute, sum);
  }
  const rows: string[][] = [];
  for (let minute = query.time_range.from; minute < query.time_range.to; minute += MINUTE_MS) {
    const sum = byMinute.get(minute);
    rows.push([
      bucketLabel(minute),
      query.action,
      ...filters.map((column) => query[column] ?? ""),
      ...query.aggregates.map((a) => String(a === "COUNT" ? (sum?.count ?? 0) : (sum?.sumPrice ?? 0))),
    ]);
  }
  return { columns, rows };
}

/** Asks every hour shard of the range for its part and merges the answers into the table. */
export async function queryAggregates(env: Env, query: AggregatesQuery): Promise<AggregatesTable> {
  const { from, to } = query.time_range;
  const parts = await Promise.all(
    shardsOverlapping(from, to).map((start) =>
      tagAggregatesStub(env, start).totals({
        from: Math.max(from, start),
        to: Math.min(to, start + SHARD_MS),
        action: query.action,
        origin: query.origin,
        brandId: query.brand_id,
        categoryId: query.category_id,
      }),
    ),
  );
  return aggregatesTable(query, parts.flat());
}
