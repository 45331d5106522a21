/**
 * Bucket maths of the performance report: counters are kept per minute of event time and rolled
 * up into UTC-aligned minute, hour or day buckets, zero-filled, with totals and a CTR.
 */
import { divideHalfEven } from "../../shared/money.ts";
import { DAY_MS, MINUTE_MS } from "../../shared/time.ts";

export const GRANULARITIES = ["minute", "hour", "day"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const GRANULARITY_MS: Readonly<Record<Granularity, number>> = {
  minute: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  day: DAY_MS,
};

/** The longest range a report covers at each granularity (31 days by minute, a year otherwise). */
export const MAX_RANGE_MS: Readonly<Record<Granularity, number>> = {
  minute: 31 * DAY_MS,
  hour: 366 * DAY_MS,
  day: 366 * DAY_MS,
};

/** The counters of one minute, one bucket, or a whole range. */
export interface Counters {
  impressions: number;
  views: number;
  clicks: number;
  chargedClicks: number;
  spendMinor: number;
}

export const ZERO_COUNTERS: Readonly<Counters> = { impressions: 0, views: 0, clicks: 0, chargedClicks: 0, spendMinor: 0 };

/** A bucket: counters for `[start, end)`, where both lie inside the asked range. */
export interface Bucket extends Counters {
  start: number;
}

function alignDown(ms: number, size: number): number {
  return Math.floor(ms / size) * size;
}

/**
 * The start of every bucket of `[from, to)`, oldest first. The first bucket starts at `from` when
 * `from` is not on a bucket boundary, so no bucket claims time outside the range.
 */
export function bucketStarts(from: number, to: number, granularity: Granularity): number[] {
  const size = GRANULARITY_MS[granularity];
  const starts: number[] = [];
  for (let start = alignDown(from, size); start < to; start += size) starts.push(Math.max(start, from));
  return starts;
}

/** Adds per-minute counters (keyed by the minute's start, epoch ms) into zero-filled buckets. */
export function rollUp(minutes: ReadonlyArray<Counters & { minute: number }>, from: number, to: number, granularity: Granularity): Bucket[] {
  const size = GRANULARITY_MS[granularity];
  const buckets = bucketStarts(from, to, granularity).map((start): Bucket => ({ start, ...ZERO_COUNTERS }));
  const firstAligned = alignDown(from, size);
  for (const row of minutes) {
    if (row.minute < from || row.minute >= to) continue;
    const bucket = buckets[(alignDown(row.minute, size) - firstAligned) / size];
    if (bucket) addInto(bucket, row);
  }
  return buckets;
}

export function sumCounters(buckets: ReadonlyArray<Counters>): Counters {
  const total = { ...ZERO_COUNTERS };
  for (const bucket of buckets) addInto(total, bucket);
  return total;
}

function addInto(target: Counters, source: Counters): void {
  target.impressions += source.impressions;
  target.views += source.views;
  target.clicks += source.clicks;
  target.chargedClicks += source.chargedClicks;
  target.spendMinor += source.spendMinor;
}

/**
 * Click-through rate, clicks per impression, as a decimal string with 4 fraction digits rounded
 * half-even from exact integers ("0.0600"); "0.0000" when there were no impressions.
 */
export function clickThroughRate(clicks: number, impressions: number): string {
  if (impressions === 0) return "0.0000";
  const tenThousandths = divideHalfEven(BigInt(clicks) * 10_000n, BigInt(impressions));
  const whole = tenThousandths / 10_000n;
  const fraction = (tenThousandths % 10_000n).toString().padStart(4, "0");
  return `${whole}.${fraction}`;
}
