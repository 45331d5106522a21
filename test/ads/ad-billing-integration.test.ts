import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../workers/index.ts";
import type { QueueMessage } from "../../shared/messages.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, call, callJson, serviceToken, tokenFor } from "../support/http.ts";
import { createCampaign, sendEvent } from "./helpers.ts";

const eur = (value: string) => ({ value, currency: "EUR" });
const day1 = utcDaysAhead(1, "10:00:00.000");
const date1 = new Date(day1).toISOString().slice(0, 10);
let busy = "";
let quiet = "";
let idle = "";

/** What the job sent on `ad-billing`: the real queue, wrapped to see each body. */
const sent: QueueMessage[] = [];

/**
 * The real bindings, with chosen calls failing (fault injection): `failBatch` makes D1's
 * `batch` throw, `failSend` makes the `ad-billing` queue's send throw.
 */
function bindings(faults: { failBatch?: boolean; failSend?: boolean } = {}): Env {
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch" && faults.failBatch) return () => Promise.reject(new Error("injected: D1 batch failed"));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const queue: Queue = {
    send: (body: QueueMessage, options?: QueueSendOptions) => env.AD_BILLING.send(body, options),
    async sendBatch(messages: Iterable<MessageSendRequest<QueueMessage>>, options?: QueueSendBatchOptions) {
      if (faults.failSend) throw new Error("injected: queue send failed");
      const list = [...messages];
      sent.push(...list.map((m) => m.body));
      return env.AD_BILLING.sendBatch(list, options);
    },
  } as Queue;
  return { ...env, DB: db, AD_BILLING: queue };
}

/** Runs the daily cron at `at` against `target`; resolves when its work is done (or rejects). */
async function runDailyJob(at: number, target: Env): Promise<void> {
  vi.setSystemTime(at);
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "17 3 * * *" }), target, ctx);
  await waitOnExecutionContext(ctx);
}

async function storedRows() {
  const { results } = await env.DB.prepare("SELECT date, ad_campaign_id, published_at FROM ad_billing_days ORDER BY date, ad_campaign_id").all();
  return results;
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(day1);
  busy = (await createCampaign({ cpc: eur("0.50") })).adCampaignId;
  quiet = (await createCampaign({ cpc: eur("0.50") })).adCampaignId;
  idle = (await createCampaign({ cpc: eur("0.50") })).adCampaignId;
  for (let i = 0; i < 3; i++) await sendEvent({ adCampaignId: busy, type: "impression", userId: String(i) });
  await sendEvent({ adCampaignId: busy, type: "view", userId: "1" });
  await sendEvent({ adCampaignId: busy, userId: "1" }); // charged 0.50
  await sendEvent({ adCampaignId: busy, userId: "1" }); // duplicate: recorded, not charged
  await sendEvent({ adCampaignId: busy, userId: "2" }); // charged 0.50
  await sendEvent({ adCampaignId: quiet, type: "impression", userId: "5" });
  // The next day's activity belongs to the next day's row.
  vi.setSystemTime(utcDaysAhead(2, "01:00:00.000"));
  await sendEvent({ adCampaignId: busy, type: "impression", userId: "9" });
  vi.useRealTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the daily billing job", () => {
  it("writes each campaign-day once, through a failed D1 write, a failed send and a second run", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const cron = utcDaysAhead(2, "03:17:00.000");
    await expect(runDailyJob(cron, bindings({ failBatch: true }))).rejects.toThrow(/injected/);
    expect(await storedRows()).toEqual([]);

    await expect(runDailyJob(cron, bindings({ failSend: true }))).rejects.toThrow(/injected/);
    const written = await storedRows();
    expect(written.map((r) => [r.date, String(r.ad_campaign_id), r.published_at])).toEqual(
      [busy, quiet].sort((a, b) => Number(a) - Number(b)).map((id) => [date1, id, null]),
    );
    expect(sent).toEqual([]);

    await runDailyJob(cron, bindings());
    await runDailyJob(cron + 60_000, bindings());
    const rows = await storedRows();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.published_at !== null)).toBe(true);
    // Published once each, after the failed send.
    expect(sent.map((m) => (m as { adCampaignId: string }).adCampaignId).sort()).toEqual([busy, quiet].sort());
    expect(sent.find((m) => (m as { adCampaignId: string }).adCampaignId === busy)).toEqual({
      kind: "ad-billing-day",
      date: date1,
      adCampaignId: busy,
      advertiserId: "9",
      impressions: 3,
      clicks: 3,
      chargedClicks: 2,
      spend: { minor: 100, currency: "EUR" },
      dedupeKey: `ad-billing:${date1}:${busy}`,
    });
  });

  it("lists closed days as JSON with the sums of the day's events, and as the same rows in CSV", async () => {
    const token = await adminToken();
    const { status, body } = await callJson("GET", `/ads/billing?from=${date1}&to=${date1}`, { token });
    expect(status).toBe(200);
    const expected = [
      { date: date1, adCampaignId: busy, advertiserId: "9", impressions: 3, clicks: 3, chargedClicks: 2, spend: eur("1.00") },
      { date: date1, adCampaignId: quiet, advertiserId: "9", impressions: 1, clicks: 0, chargedClicks: 0, spend: eur("0.00") },
    ].sort((a, b) => Number(a.adCampaignId) - Number(b.adCampaignId));
    expect(body).toEqual({ days: expected });
    expect(body.days.map((d: { adCampaignId: string }) => d.adCampaignId)).not.toContain(idle);

    const response = await call("GET", `/ads/billing?from=${date1}&to=${date1}`, { token, headers: { accept: "text/csv" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
    const parsed = Papa.parse<Record<string, string>>((await response.text()).trim(), { header: true });
    expect(parsed.data).toEqual(
      expected.map((d) => ({
        date: d.date,
        adCampaignId: d.adCampaignId,
        advertiserId: d.advertiserId,
        impressions: String(d.impressions),
        clicks: String(d.clicks),
        chargedClicks: String(d.chargedClicks),
        spend: d.spend.value,
        currency: "EUR",
      })),
    );
  });

  it("lists nothing for a day that has not closed", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { body } = await callJson("GET", `/ads/billing?from=${today}&to=${today}`, { token: await adminToken() });
    expect(body).toEqual({ days: [] });
  });

  it("answers 400 naming from or to, 422 for a range that ends first, 401/403 without admin", async () => {
    const token = await adminToken();
    for (const [query, path, status] of [
      ["to=2026-01-01", "query.from", 400],
      ["from=2026-13-01&to=2026-12-31", "query.from", 400],
      ["from=2026-01-01&to=yesterday", "query.to", 400],
      ["from=2026-01-01&to=2026-12-31", "query.to", 400],
      ["from=2026-01-02&to=2026-01-01", "query.to", 422],
    ] as const) {
      const answer = await callJson("GET", `/ads/billing?${query}`, { token });
      expect(answer.status).toBe(status);
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await callJson("GET", "/ads/billing?from=2026-01-01&to=2026-01-01")).status).toBe(401);
    expect((await callJson("GET", "/ads/billing?from=2026-01-01&to=2026-01-01", { token: await serviceToken() })).status).toBe(403);
    expect((await callJson("GET", "/ads/billing?from=2026-01-01&to=2026-01-01", { token: await tokenFor("3", ["citizen"]) })).status).toBe(403);
  });
});
