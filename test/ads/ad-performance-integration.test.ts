import { beforeAll, describe, expect, it } from "vitest";
import { callJson } from "../support/http.ts";
import { createCampaign, sendEvent, type AdEvent } from "./helpers.ts";

let adCampaignId = "";

const eur = (value: string) => ({ value, currency: "EUR" });
const zero = { impressions: 0, views: 0, clicks: 0, chargedClicks: 0, ctr: "0.0000", spend: eur("0.00") };

function performance(query: string, id = adCampaignId) {
  return callJson("GET", `/ads/campaigns/${id}/performance?${query}`);
}

beforeAll(async () => {
  ({ adCampaignId } = await createCampaign({ startDateTime: "2026-01-01T00:00:00Z" }));
  const events: AdEvent[] = [];
  for (let i = 0; i < 10; i++) events.push({ adCampaignId, type: "impression", userId: String(i), timestamp: "2026-11-20T10:00:10Z" });
  events.push({ adCampaignId, type: "view", userId: "1", timestamp: "2026-11-20T10:00:20Z" });
  events.push({ adCampaignId, type: "view", userId: "2", timestamp: "2026-11-20T10:00:21Z" });
  events.push({ adCampaignId, userId: "1", timestamp: "2026-11-20T10:00:30Z" });
  events.push({ adCampaignId, userId: "1", timestamp: "2026-11-20T10:00:50Z" }); // 20 s later: recorded, not charged
  for (let i = 0; i < 5; i++) events.push({ adCampaignId, type: "impression", userId: String(i), timestamp: "2026-11-20T10:01:15Z" });
  events.push({ adCampaignId, userId: "2", timestamp: "2026-11-20T10:01:20Z" });
  for (let i = 0; i < 3; i++) events.push({ adCampaignId, type: "impression", userId: String(i), timestamp: "2026-11-20T11:30:00Z" });
  events.push({ adCampaignId, userId: "3", timestamp: "2026-11-20T11:30:05Z" });
  events.push({ adCampaignId, type: "impression", userId: "1", timestamp: "2026-11-21T09:00:00Z" });
  events.push({ adCampaignId, type: "impression", userId: "2", timestamp: "2026-11-21T09:00:00.500Z" });
  for (const event of events) {
    const { status } = await sendEvent(event);
    if (status !== 202) throw new Error(`event refused: ${status}`);
  }
});

describe("GET /ads/campaigns/{id}/performance", () => {
  it("reports minute buckets, zero-filled, with totals and CTR", async () => {
    const { status, body } = await performance("time_range=2026-11-20T10:00:00Z_2026-11-20T10:03:00Z&granularity=minute");
    expect(status).toBe(200);
    expect(body).toEqual({
      totals: { impressions: 15, views: 2, clicks: 3, chargedClicks: 2, ctr: "0.2000", spend: eur("1.00") },
      buckets: [
        { start: "2026-11-20T10:00:00.000Z", impressions: 10, views: 2, clicks: 2, chargedClicks: 1, ctr: "0.2000", spend: eur("0.50") },
        { start: "2026-11-20T10:01:00.000Z", impressions: 5, views: 0, clicks: 1, chargedClicks: 1, ctr: "0.2000", spend: eur("0.50") },
        { start: "2026-11-20T10:02:00.000Z", ...zero },
      ],
    });
  });

  it("rolls up by hour, rounding the CTR to four decimals", async () => {
    const { body } = await performance("time_range=2026-11-20T10:00:00Z_2026-11-20T12:00:00Z&granularity=hour");
    expect(body.totals).toEqual({ impressions: 18, views: 2, clicks: 4, chargedClicks: 3, ctr: "0.2222", spend: eur("1.50") });
    expect(body.buckets.map((b: { start: string; ctr: string; clicks: number }) => [b.start, b.clicks, b.ctr])).toEqual([
      ["2026-11-20T10:00:00.000Z", 3, "0.2000"],
      ["2026-11-20T11:00:00.000Z", 1, "0.3333"],
    ]);
  });

  it("rolls up by UTC day and accepts times without Z", async () => {
    const { body } = await performance("time_range=2026-11-20T00:00:00_2026-11-22T00:00:00&granularity=day");
    expect(body.buckets.map((b: { start: string; impressions: number }) => [b.start, b.impressions])).toEqual([
      ["2026-11-20T00:00:00.000Z", 18],
      ["2026-11-21T00:00:00.000Z", 2],
    ]);
    expect(body.totals.impressions).toBe(20);
  });

  it("starts a bucket cut by the range at the range's start and leaves out what lies outside", async () => {
    const { body } = await performance("time_range=2026-11-20T10:01:00Z_2026-11-20T11:31:00Z&granularity=hour");
    expect(body.buckets).toEqual([
      { start: "2026-11-20T10:01:00.000Z", impressions: 5, views: 0, clicks: 1, chargedClicks: 1, ctr: "0.2000", spend: eur("0.50") },
      { start: "2026-11-20T11:00:00.000Z", impressions: 3, views: 0, clicks: 1, chargedClicks: 1, ctr: "0.3333", spend: eur("0.50") },
    ]);
  });

  it("writes CTR 0.0000 for a range without impressions and defaults to hourly buckets", async () => {
    const { body } = await performance("time_range=2026-11-19T00:00:00Z_2026-11-19T03:00:00Z");
    expect(body.totals).toEqual(zero);
    expect(body.buckets).toHaveLength(3);
  });

  it.each([
    ["no time_range", "granularity=hour", 400, "query.time_range"],
    ["a time_range without two ends", "time_range=2026-11-20T10:00:00Z", 400, "query.time_range"],
    ["a time_range off whole minutes", "time_range=2026-11-20T10:00:30Z_2026-11-20T11:00:00Z", 400, "query.time_range"],
    ["an unknown granularity", "time_range=2026-11-20T10:00:00Z_2026-11-20T11:00:00Z&granularity=week", 400, "query.granularity"],
    ["more than 31 days by minute", "time_range=2026-10-20T00:00:00Z_2026-11-20T00:01:00Z&granularity=minute", 400, "query.time_range"],
    ["more than 366 days by hour", "time_range=2025-11-19T00:00:00Z_2026-11-20T00:01:00Z&granularity=hour", 400, "query.time_range"],
    ["more than 366 days by day", "time_range=2025-11-19T00:00:00Z_2026-11-20T00:01:00Z&granularity=day", 400, "query.time_range"],
    ["a range that ends before it starts", "time_range=2026-11-20T11:00:00Z_2026-11-20T10:00:00Z", 422, "query.time_range"],
  ])("refuses %s", async (_label, query, status, path) => {
    const { status: got, body } = await performance(query);
    expect(got).toBe(status);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("answers exactly 1440 minute buckets", async () => {
    const { status, body } = await performance("time_range=2026-11-20T00:00:00Z_2026-11-21T00:00:00Z&granularity=minute");
    expect(status).toBe(200);
    expect(body.buckets).toHaveLength(1440);
    expect(body.totals.impressions).toBe(18);
  });

  it("sums a year by day in SQL: 366 buckets, the same totals", async () => {
    const { status, body } = await performance("time_range=2025-11-20T00:00:00Z_2026-11-21T00:00:00Z&granularity=day");
    expect(status).toBe(200);
    expect(body.buckets).toHaveLength(366);
    expect(body.totals.impressions).toBe(18);
    expect(body.buckets.at(-1).impressions).toBe(18);
  });

  it("answers 404 for an unknown campaign", async () => {
    expect((await performance("time_range=2026-11-20T10:00:00Z_2026-11-20T11:00:00Z", "777777")).status).toBe(404);
  });
});
