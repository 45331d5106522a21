import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdBillingDayMessage, QueueMessage } from "../../shared/messages.ts";
import { DAY_MS } from "../../shared/time.ts";
import worker from "../../workers/index.ts";
import { deliver } from "../support/queues.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, callJson } from "../support/http.ts";
import { createCampaign, sendEvent } from "./helpers.ts";

const eur = (value: string) => ({ value, currency: "EUR" });
/** The real today (UTC midnight), read before any test moves the clock. */
const today = utcDaysAhead(0);
/** `time` (UTC) on the day `days` after the real today. */
const at = (days: number, time = "00:00:00.000") => today + days * DAY_MS + Date.parse(`1970-01-01T${time}Z`);
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Runs the daily cron at `at` against `target`; resolves when its work is done. */
async function runDailyJob(at: number, target: Env = env): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "17 3 * * *" }), target, ctx);
  await waitOnExecutionContext(ctx);
}

async function billedDays(adCampaignId: string, from: number, to: number): Promise<string[]> {
  const { status, body } = await callJson("GET", `/ads/billing?from=${dateOf(from)}&to=${dateOf(to)}`, { token: await adminToken() });
  expect(status).toBe(200);
  return (body.days as Array<{ date: string; adCampaignId: string }>).filter((d) => d.adCampaignId === adCampaignId).map((d) => d.date);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the daily billing job across outages and overlapping runs", () => {
  it("closes every day missed while the cron was down for longer than a week", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const day1 = at(1, "10:00:00.000");
    vi.setSystemTime(day1);
    const { adCampaignId } = await createCampaign({ cpc: eur("0.50") });
    await sendEvent({ adCampaignId, type: "impression", userId: "1" });
    vi.setSystemTime(at(2, "03:17:00.000"));
    await runDailyJob(Date.now());
    expect(await billedDays(adCampaignId, day1, day1)).toEqual([dateOf(day1)]);

    // Activity on day 2, then the cron does not fire again until day 14: twelve days missed.
    const day2 = at(2, "10:00:00.000");
    vi.setSystemTime(day2);
    await sendEvent({ adCampaignId, userId: "2" });
    const day5 = at(5, "10:00:00.000");
    vi.setSystemTime(day5);
    await sendEvent({ adCampaignId, type: "impression", userId: "3" });
    vi.setSystemTime(at(14, "03:17:00.000"));
    await runDailyJob(Date.now());
    expect(await billedDays(adCampaignId, day1, at(13))).toEqual([dateOf(day1), dateOf(day2), dateOf(day5)]);
  });

  it("applies each billing row once when two runs overlap and both publish it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(at(20, "10:00:00.000"));
    const { adCampaignId } = await createCampaign({ cpc: eur("0.50") });
    await sendEvent({ adCampaignId, userId: "1" });

    // The `ad-billing` queue as both runs see it: each send is kept (and not delivered), and the
    // first run's send waits for the second's, so both have read the row as not yet published.
    const sent: QueueMessage[] = [];
    let arrived = 0;
    let release = () => {};
    const bothSending = new Promise<void>((resolve) => (release = resolve));
    const queue = {
      async sendBatch(messages: Iterable<MessageSendRequest<QueueMessage>>) {
        sent.push(...[...messages].map((m) => m.body));
        if (++arrived === 2) release();
        await Promise.race([bothSending, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      },
    } as unknown as Queue;
    const overlapping = { ...env, AD_BILLING: queue };
    const cron = at(21, "03:17:00.000");
    vi.setSystemTime(cron);
    await Promise.all([runDailyJob(cron, overlapping), runDailyJob(cron + 1_000, overlapping)]);
    const mine = sent.filter((m): m is AdBillingDayMessage => m.kind === "ad-billing-day" && m.adCampaignId === adCampaignId);
    expect(mine).toHaveLength(2);
    expect(new Set(mine.map((m) => m.dedupeKey))).toEqual(new Set([`ad-billing:${dateOf(at(20))}:${adCampaignId}`]));

    // Both publications reach the payments side, one of them twice (a redelivery): applied once.
    const log = vi.spyOn(console, "log");
    await deliver("ad-billing", mine);
    await deliver("ad-billing", [mine[1]!]);
    // A copy published before messages carried the key: its key is derived from the row, the same.
    const { dedupeKey: _key, ...legacy } = mine[0]!;
    await deliver("ad-billing", [legacy as AdBillingDayMessage]);
    // The payments side's hand-over is one JSON log line per applied row.
    const handedOver = log.mock.calls
      .map(([line]) => (typeof line === "string" && line.startsWith("{") ? (JSON.parse(line) as { msg?: string; adCampaignId?: string }) : {}))
      .filter((line) => line.msg === "ad billing day handed over" && line.adCampaignId === adCampaignId);
    expect(handedOver).toHaveLength(1);
  });
});
