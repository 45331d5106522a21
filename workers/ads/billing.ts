/**
 * Daily billing (seed 003: the payments service bulk-fetches performance and pushes it on): the
 * daily cron closes each finished UTC day once per ad campaign with activity, writes one row per
 * (date, adCampaignId) — the key makes any rerun a no-op — and publishes each row on `ad-billing`.
 */
import { and, eq, gte, inArray, isNull, lt } from "drizzle-orm";
import type { BillingDay } from "../../durable-objects/ad-campaign/ad-campaign.ts";
import { adCampaignStub } from "../../durable-objects/ad-campaign/stub.ts";
import { chunk, d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { log } from "../../shared/log.ts";
import { QUEUE_MESSAGE_SCHEMAS, type AdBillingDayMessage, type QueueMessage } from "../../shared/messages.ts";
import { toMoneyJson } from "../../shared/money.ts";
import { DAY_MS, utcDate, utcDayNumber } from "../../shared/time.ts";
import { recordMetric } from "../metrics.ts";
import { ackOrRetryGroup, messagesOfKind, sendAll } from "../queue-kit.ts";

/**
 * How many finished days each run looks back over: a run that failed (or a cron that did not fire)
 * is caught up by the next ones. Within the 30 days an `AdCampaign` keeps its events.
 */
export const BILLING_LOOKBACK_DAYS = 7;

/** How many campaign objects the job asks at once. */
const PARALLEL_ASKS = 10;

const BILLING_COLUMNS = 10;

/**
 * Closes every finished UTC day of the lookback window that is not closed yet, then publishes
 * every row not yet published. Safe to run any number of times and after a crash at any point:
 * rows are inserted once by their key, and `publishedAt` is set only after the send succeeded
 * (a send repeated after a crash reaches the consumer twice; it dedupes by the key).
 */
export async function closeAdBillingDays(env: Env, now: number): Promise<void> {
  const today = utcDayNumber(now);
  for (let day = today - BILLING_LOOKBACK_DAYS; day < today; day++) await closeDay(env, day, now);
  await publishPending(env);
}

async function closeDay(env: Env, day: number, now: number): Promise<void> {
  const db = database(env.DB);
  const campaigns = schema.adCampaigns;
  const billing = schema.adBillingDays;
  const date = utcDate(day * DAY_MS);
  // Only campaigns whose object published an event on this day or later can have activity on it.
  const candidates = await db
    .select({ adCampaignId: campaigns.adCampaignId })
    .from(campaigns)
    .where(and(gte(campaigns.lastEventDay, day), lt(campaigns.createdAt, (day + 1) * DAY_MS)));
  if (candidates.length === 0) return;
  const closed = new Set(
    (await db.select({ adCampaignId: billing.adCampaignId }).from(billing).where(eq(billing.date, date))).map((row) => row.adCampaignId),
  );
  const open = candidates.map((row) => row.adCampaignId).filter((id) => !closed.has(id));
  const days: BillingDay[] = [];
  for (const part of chunk(open, PARALLEL_ASKS)) {
    const answers = await Promise.all(part.map((id) => adCampaignStub(env, String(id)).billingDay(day)));
    for (const answer of answers) {
      if (!answer.ok) throw new Error(`billing ${date}: ${answer.detail}`);
      if (answer.value) days.push(answer.value);
    }
  }
  const values = days.map((row) => ({
    date: row.date,
    adCampaignId: Number(row.adCampaignId),
    advertiserId: Number(row.advertiserId),
    impressions: row.impressions,
    clicks: row.clicks,
    chargedClicks: row.chargedClicks,
    spendMinor: row.spendMinor,
    currency: row.currency,
    closedAt: now,
  }));
  await runInOneBatch(
    db,
    d1Chunks(values, BILLING_COLUMNS).map((part) => db.insert(billing).values(part).onConflictDoNothing()),
  );
}

async function publishPending(env: Env): Promise<void> {
  const db = database(env.DB);
  const billing = schema.adBillingDays;
  const pending = await db.select().from(billing).where(isNull(billing.publishedAt));
  for (const part of chunk(pending, 100)) {
    await sendAll(env.AD_BILLING, part.map(billingMessage));
    const publishedAt = Date.now();
    const idsByDate = Map.groupBy(part, (row) => row.date);
    await runInOneBatch(
      db,
      [...idsByDate].flatMap(([date, rows]) =>
        d1Chunks(
          rows.map((row) => row.adCampaignId),
          1,
          2,
        ).map((ids) =>
          db
            .update(billing)
            .set({ publishedAt })
            .where(and(eq(billing.date, date), inArray(billing.adCampaignId, ids), isNull(billing.publishedAt))),
        ),
      ),
    );
  }
}

/** A stored billing row as its message and its API shape share it. */
export function billingMessage(row: typeof schema.adBillingDays.$inferSelect): AdBillingDayMessage {
  return {
    kind: "ad-billing-day",
    date: row.date,
    adCampaignId: String(row.adCampaignId),
    advertiserId: String(row.advertiserId),
    impressions: row.impressions,
    clicks: row.clicks,
    chargedClicks: row.chargedClicks,
    spend: { minor: row.spendMinor, currency: row.currency },
  };
}

/**
 * The payments side's stub: hands each closed day over (here, one log line) and acks. A row
 * published twice after a crash arrives twice; `(date, adCampaignId)` tells the payments side so.
 */
export async function handOverAdBilling(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const days = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["ad-billing"]);
  await ackOrRetryGroup(batch.queue, days, async () => {
    for (const { body } of days) {
      const spend = toMoneyJson(body.spend);
      log("info", "ad billing day handed over", { system: "ads", requestId: body.httpRequestId, date: body.date, adCampaignId: body.adCampaignId, chargedClicks: body.chargedClicks, spend: spend.value, currency: spend.currency });
      // Spend per ad campaign for the SQL API (docs/operations.md); a redelivered day counts again there, not in D1.
      recordMetric(env, { system: "ads", kind: "ad-spend", name: body.adCampaignId, detail: body.spend.currency, count: body.chargedClicks, value: body.spend.minor });
    }
  });
}
