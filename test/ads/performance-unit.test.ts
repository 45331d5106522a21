import { describe, expect, it } from "vitest";
import { bucketStarts, clickThroughRate, rollUp, sumCounters } from "../../durable-objects/ad-campaign/performance.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

const minute = (time: string, counters: Partial<{ impressions: number; views: number; clicks: number; chargedClicks: number; spendMinor: number }>) => ({
  minute: at(time),
  impressions: 0,
  views: 0,
  clicks: 0,
  chargedClicks: 0,
  spendMinor: 0,
  ...counters,
});

describe("performance buckets", () => {
  it("starts a bucket cut by the range at the range's start", () => {
    const starts = bucketStarts(at("2026-11-22T10:30:00Z"), at("2026-11-22T12:30:00Z"), "hour").map(iso);
    expect(starts).toEqual(["2026-11-22T10:30:00.000Z", "2026-11-22T11:00:00.000Z", "2026-11-22T12:00:00.000Z"]);
  });

  it("rolls minutes into zero-filled buckets and leaves out minutes outside the range", () => {
    const minutes = [
      minute("2026-11-22T09:59:00Z", { impressions: 100 }),
      minute("2026-11-22T10:00:00Z", { impressions: 10, clicks: 2, chargedClicks: 1, spendMinor: 50 }),
      minute("2026-11-22T10:59:00Z", { impressions: 5, views: 1 }),
      minute("2026-11-22T12:00:00Z", { impressions: 3, clicks: 1, chargedClicks: 1, spendMinor: 50 }),
      minute("2026-11-22T13:00:00Z", { impressions: 100 }),
    ];
    const buckets = rollUp(minutes, at("2026-11-22T10:00:00Z"), at("2026-11-22T13:00:00Z"), "hour");
    expect(buckets).toEqual([
      { start: at("2026-11-22T10:00:00Z"), impressions: 15, views: 1, clicks: 2, chargedClicks: 1, spendMinor: 50 },
      { start: at("2026-11-22T11:00:00Z"), impressions: 0, views: 0, clicks: 0, chargedClicks: 0, spendMinor: 0 },
      { start: at("2026-11-22T12:00:00Z"), impressions: 3, views: 0, clicks: 1, chargedClicks: 1, spendMinor: 50 },
    ]);
    expect(sumCounters(buckets)).toEqual({ impressions: 18, views: 1, clicks: 3, chargedClicks: 2, spendMinor: 100 });
  });

  it("aligns day buckets to 00:00 UTC", () => {
    const buckets = rollUp(
      [minute("2026-11-22T23:59:00Z", { impressions: 1 }), minute("2026-11-23T00:00:00Z", { impressions: 2 })],
      at("2026-11-22T00:00:00Z"),
      at("2026-11-24T00:00:00Z"),
      "day",
    );
    expect(buckets.map((b) => [iso(b.start), b.impressions])).toEqual([
      ["2026-11-22T00:00:00.000Z", 1],
      ["2026-11-23T00:00:00.000Z", 2],
    ]);
  });
});

describe("click-through rate", () => {
  it("writes clicks per impression with four decimals, rounded half-even", () => {
    expect(clickThroughRate(6, 100)).toBe("0.0600");
    expect(clickThroughRate(1, 3)).toBe("0.3333");
    expect(clickThroughRate(2, 3)).toBe("0.6667");
    expect(clickThroughRate(1, 80_000)).toBe("0.0000");
    expect(clickThroughRate(3, 80_000)).toBe("0.0000");
    expect(clickThroughRate(5, 80_000)).toBe("0.0001");
    expect(clickThroughRate(3, 2)).toBe("1.5000");
  });

  it("is 0.0000 without impressions", () => {
    expect(clickThroughRate(4, 0)).toBe("0.0000");
  });
});
