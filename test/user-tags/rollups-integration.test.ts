import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RollupOutbox } from "../../durable-objects/tag-aggregates/rollup-outbox.ts";
import { SHARD_MS, shardStartOf } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { tagAggregatesStub } from "../../durable-objects/tag-aggregates/stub.ts";
import { rollupDayOf, tagRollupsStub } from "../../durable-objects/tag-rollups/stub.ts";
import { DAY_MS } from "../../shared/time.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import { userTagSchema } from "../../workers/user-tags/schemas.ts";
import { callJson } from "../support/http.ts";
import { deliver as deliverToQueue } from "../support/queues.ts";

interface Tag {
  time: string;
  cookie: string;
  country: string;
  device: "PC" | "MOBILE" | "TV";
  action: "VIEW" | "BUY";
  origin: string;
  product_info: { product_id: string; brand_id: string; category_id: string; price: number };
}

type Filters = { origin?: string; brand_id?: string; category_id?: string };

const HOUR_MS = SHARD_MS;
const local = (ms: number) => new Date(ms).toISOString().slice(0, 19);

/** mulberry32: a fixed seed gives the same tags on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * `count` tags with random dimensions and prices, at random times within the given hours (a few
 * hours a day keep the number of hour shards, and so the test's run time, small).
 */
function generateTags(seed: number, count: number, hours: readonly number[]): Tag[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return Array.from({ length: count }, (_, i) => ({
    time: new Date(pick(hours) + Math.floor(next() * HOUR_MS)).toISOString(),
    cookie: `cookie-${i % 37}`,
    country: pick(["PL", "DE", "FR"]),
    device: pick(["PC", "MOBILE", "TV"] as const),
    action: pick(["VIEW", "BUY"] as const),
    origin: pick(["origin-a", "origin-b", "origin-c"]),
    product_info: {
      product_id: String(Math.floor(next() * 1000)),
      brand_id: pick(["brand-x", "brand-y", "brand-z"]),
      category_id: pick(["category-1", "category-2"]),
      price: Math.floor(next() * 200_000) - 1_000,
    },
  }));
}

/** Delivers tags to the user-tags consumer in queue batches of 100, as the queue would. */
async function deliver(tags: readonly Tag[]): Promise<void> {
  for (let i = 0; i < tags.length; i += 100) {
    const bodies = await Promise.all(tags.slice(i, i + 100).map((t) => acceptTag(userTagSchema.parse(t))));
    expect((await deliverToQueue("user-tags", bodies)).retryMessages).toEqual([]);
  }
}

/** Runs each touched hour shard's alarm now, which sends its pending delta to the rollups. */
async function flushHourShards(tags: readonly Tag[]): Promise<void> {
  const hours = new Set(tags.map((t) => shardStartOf(Date.parse(t.time))));
  for (const hour of hours) await runDurableObjectAlarm(tagAggregatesStub(env, hour));
}

/** The answer `POST /aggregates` must give, computed from the distinct tags. */
function reference(tags: readonly Tag[], granularity: "hour" | "day", action: "VIEW" | "BUY", from: number, to: number, filters: Filters) {
  const step = granularity === "hour" ? HOUR_MS : DAY_MS;
  const distinct = new Map(tags.map((t) => [JSON.stringify(t), t]));
  const sums = new Map<number, { count: number; sum: number }>();
  for (const tag of distinct.values()) {
    const time = Date.parse(tag.time);
    if (tag.action !== action || time < from || time >= to) continue;
    if (filters.origin !== undefined && tag.origin !== filters.origin) continue;
    if (filters.brand_id !== undefined && tag.product_info.brand_id !== filters.brand_id) continue;
    if (filters.category_id !== undefined && tag.product_info.category_id !== filters.category_id) continue;
    const bucket = Math.floor(time / step) * step;
    const sum = sums.get(bucket) ?? { count: 0, sum: 0 };
    sum.count++;
    sum.sum += tag.product_info.price;
    sums.set(bucket, sum);
  }
  const present = (["origin", "brand_id", "category_id"] as const).filter((f) => filters[f] !== undefined);
  const rows: string[][] = [];
  for (let bucket = from; bucket < to; bucket += step) {
    const sum = sums.get(bucket) ?? { count: 0, sum: 0 };
    rows.push([local(bucket), action, ...present.map((f) => filters[f]!), String(sum.count), String(sum.sum)]);
  }
  return { columns: [granularity === "hour" ? "1h_bucket" : "1d_bucket", "action", ...present, "count", "sum_price"], rows };
}

async function aggregates(granularity: string, from: number, to: number, action: string, filters: Filters) {
  const params = new URLSearchParams({ time_range: `${local(from)}_${local(to)}`, action, granularity, ...filters });
  params.append("aggregates", "COUNT");
  params.append("aggregates", "SUM_PRICE");
  return callJson<{ columns: string[]; rows: string[][]; errors: Array<{ path: string }> }>("POST", `/aggregates?${params}`);
}

const FILTER_SETS: Filters[] = [
  {},
  { origin: "origin-b" },
  { brand_id: "brand-y" },
  { category_id: "category-2" },
  { brand_id: "brand-x", category_id: "category-1" },
  { origin: "origin-a", brand_id: "brand-z", category_id: "category-2" },
];

/** Compares every action and filter set with the reference; returns how many tags the answers counted. */
async function expectExact(tags: readonly Tag[], granularity: "hour" | "day", from: number, to: number): Promise<number> {
  let counted = 0;
  for (const action of ["VIEW", "BUY"] as const) {
    for (const filters of FILTER_SETS) {
      const answer = await aggregates(granularity, from, to, action, filters);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body, `${granularity} ${action} ${JSON.stringify(filters)}`).toEqual(reference(tags, granularity, action, from, to, filters));
      if (Object.keys(filters).length === 0) counted += answer.body.rows.reduce((n, row) => n + Number(row[2]), 0);
    }
  }
  return counted;
}

// A fixed past date of this file's own, far from other tests' event times; nothing depends on today.
const START = Date.UTC(2021, 5, 1);

describe("hour and day aggregates", () => {
  it("are exact over 5 days (days) and 2 days (hours), counting redelivered batches and resent tags once", async () => {
    const hours = [0, 1, 2, 3, 4].flatMap((day) => [0, 5, 13, 23].map((hour) => START + day * DAY_MS + hour * HOUR_MS));
    const tags = generateTags(29, 600, hours);
    await deliver(tags);
    await deliver(tags.slice(0, 250)); // a redelivered batch, before the flush
    await flushHourShards(tags);
    await deliver([...tags.slice(600, 700), ...tags.slice(100, 150)]); // after the flush: already counted
    await flushHourShards(tags);

    expect(await expectExact(tags, "day", START, START + 5 * DAY_MS)).toBe(600);
    await expectExact(tags, "hour", START, START + 2 * DAY_MS);
    // Bounds inside days: hours from 06:00 on day 2 to 18:00 on day 4, days 2–4.
    await expectExact(tags, "hour", START + DAY_MS + 6 * HOUR_MS, START + 3 * DAY_MS + 18 * HOUR_MS);
    await expectExact(tags, "day", START + DAY_MS, START + 4 * DAY_MS);
  }, 90_000);

  it("applies a delta once when the rollups acknowledged it but the hour shard saw a failure", async () => {
    const hour = START + 10 * DAY_MS + 5 * HOUR_MS;
    const tags = generateTags(7, 60, [hour]).map((t, i) => ({ ...t, action: i % 2 ? "VIEW" : "BUY" }) as Tag);
    await deliver(tags);
    const shard = tagAggregatesStub(env, hour);
    // The BUY rollup applies the delta, then the answer is lost on the way back.
    const lossyEnv = {
      ...env,
      TAG_ROLLUPS: {
        getByName(name: string) {
          const real = env.TAG_ROLLUPS.getByName(name);
          if (!name.endsWith(":BUY")) return real;
          return {
            async apply(...args: Parameters<typeof real.apply>) {
              await real.apply(...args);
              throw new Error("connection reset");
            },
          };
        },
      },
    } as unknown as Env;
    await runInDurableObject(shard, async (instance, state) => {
      const fields = instance as unknown as { rollups: RollupOutbox };
      const real = fields.rollups;
      fields.rollups = new RollupOutbox(state.storage.sql, lossyEnv);
      await instance.alarm();
      expect(fields.rollups.hasPending()).toBe(true);
      fields.rollups = real;
    });
    // The next alarm resends the same seq with the same rows; both rollups have it already.
    await runDurableObjectAlarm(shard);
    await runInDurableObject(shard, (instance) => {
      expect((instance as unknown as { rollups: RollupOutbox }).rollups.hasPending()).toBe(false);
    });
    for (const action of ["VIEW", "BUY"] as const) {
      const answer = await aggregates("hour", hour, hour + HOUR_MS, action, {});
      expect(answer.body).toEqual(reference(tags, "hour", action, hour, hour + HOUR_MS, {}));
      expect(answer.body.rows[0]![2]).toBe("30");
    }
    // A delta resent straight to a rollup changes nothing either.
    const rollup = tagRollupsStub(env, rollupDayOf(hour), "VIEW");
    const delta = { source: "tags:test#1", seq: 1, hour, rows: [{ origin: "o", brandId: "b", categoryId: "c", count: 2, sumPrice: 10 }] };
    expect(await rollup.apply(delta)).toBe(true);
    expect(await rollup.apply(delta)).toBe(false);
    expect(await rollup.totals({ from: hour, to: hour + HOUR_MS, origin: "o" })).toEqual([{ hour, count: 2, sumPrice: "10" }]);
  });

  it("refuses a bad granularity or range with a 400 naming the field, and accepts the longest ranges", async () => {
    const day = Date.UTC(2021, 0, 1);
    const cases: Array<[string, string, number, number]> = [
      ["granularity", "week", day, day + DAY_MS],
      ["time_range", "hour", day + 30 * 60_000, day + 2 * HOUR_MS],
      ["time_range", "hour", day, day + 31 * DAY_MS + HOUR_MS],
      ["time_range", "day", day + HOUR_MS, day + 2 * DAY_MS],
      ["time_range", "day", day, day + 401 * DAY_MS],
      ["time_range", "minute", day, day + HOUR_MS],
    ];
    for (const [path, granularity, from, to] of cases) {
      const answer = await aggregates(granularity, from, to, "VIEW", {});
      expect(answer.status, `${granularity} ${local(from)}_${local(to)}`).toBe(400);
      expect(answer.response.headers.get("content-type")).toContain("application/problem+json");
      expect(answer.body.errors.map((e) => e.path)).toContain(`query.${path}`);
    }
    const hours = await aggregates("hour", day, day + 31 * DAY_MS, "VIEW", {});
    expect(hours.status).toBe(200);
    expect(hours.body.rows).toHaveLength(31 * 24);
    expect(hours.body.rows.at(-1)).toEqual([local(day + 31 * DAY_MS - HOUR_MS), "VIEW", "0", "0"]);
    // 400 rollup objects, all created cold on one local workerd thread: ~20 s here, hence the timeout.
    const days = await aggregates("day", day, day + 400 * DAY_MS, "BUY", { origin: "nowhere" });
    expect(days.status).toBe(200);
    expect(days.body.columns).toEqual(["1d_bucket", "action", "origin", "count", "sum_price"]);
    expect(days.body.rows).toHaveLength(400);
    expect(days.body.rows[0]).toEqual(["2021-01-01T00:00:00", "BUY", "nowhere", "0", "0"]);
  }, 120_000);
});
