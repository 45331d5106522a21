/**
 * Daily billing (seed 003: the payments service bulk-fetches performance and pushes it on): the
 * daily cron closes each finished UTC day once per ad campaign with activity, writes one row per
 * (date, adCampaignId) — the key makes any rerun a no-op — and publishes each row on `ad-billing`
 * with a dedupe key the consumer applies once. A run closes every day missed since the last day
 * it closed, however long the cron was down, back to the oldest day campaigns still hold.
 */
import { and, desc, eq, gte, inArray, isNull, lt } from "drizzle-orm";
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
 * The finished days every run looks at again, closed or not: a campaign whose D1 row learned of
 * its activity late (its object's sync retried) still gets its row for those days.
 */
export const BILLING_LOOKBACK_DAYS = 7;

/**
 * The oldest finished day a run can still close, in days before today: an `AdCampaign` keeps its
 * events 30 days, so a day missed for longer can no longer be summed (the run logs it as lost).
 * The first run of a deployment looks back this far too.
 */
export const BILLING_CATCH_UP_DAYS = 29;

/** How many campaign objects the job asks at once. */
const PARALLEL_ASKS = 10;

const BILLING_COLUMNS = 10;

/**
 * Closes, oldest first, every finished UTC day after the last one closed (at most
 * `BILLING_CATCH_UP_DAYS` back) and the last `BILLING_LOOKBACK_DAYS` again, recording each as
 * closed once its rows are written, then publishes every row not yet published. Safe to run any
 * number of times, at once too, and after
 * a crash at any point: rows are inserted once by their key, a day is recorded closed only after
 * its rows (a failed day is tried again by the next run, and the days after it wait), and
 * `publishedAt` is set only after the send succeeded. A row sent twice (overlapping runs, a send
 * repeated after a crash) carries the same `dedupeKey`, which the consumer applies once.
 */
export async function closeAdBillingDays(env: Env, now: number): Promise<void> {
  const today = utcDayNumber(now);
  const oldest = today - BILLING_CATCH_UP_DAYS;
  const last = await lastClosedDay(env);
  if (last !== null && last < oldest - 1) {
    console.error(
      `ad billing: ${utcDate((last + 1) * DAY_MS)} to ${utcDate((oldest - 1) * DAY_MS)} were missed longer than campaigns keep their events; they are not closed`,
    );
  }
  const from = Math.max(oldest, Math.min(last === null ? oldest : last + 1, today - BILLING_LOOKBACK_DAYS));
  for (let day = from; day < today; day++) {
    await closeDay(env, day, now);
    await database(env.DB)
      .insert(schema.adBillingClosedDays)
      .values({ date: utcDate(day * DAY_MS), closedAt: now })
      .onConflictDoNothing();
  }
  await publishPending(env);
}

/** The newest day a run recorded closed (days since the epoch), or null before the first run. */
async function lastClosedDay(env: Env): Promise<number | null> {
  const t = schema.adBillingClosedDays;
  const [row] = await database(env.DB).select({ date: t.date }).from(t).orderBy(desc(t.date)).limit(1);
  return row ? utcDayNumber(Date.parse(`${row.date}T00:00:00Z`)) : null;
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
    dedupeKey: billingDedupeKey(row.date, String(row.adCampaignId)),
  };
}

/** The key a billing row is applied once by: the same for every publication of the row. */
function billingDedupeKey(date: string, adCampaignId: string): string {
  return `ad-billing:${date}:${adCampaignId}`;
}

/**
 * The message's dedupe key. A message published before the key existed (still queued, or a dead
 * letter re-driven) has none; its row's key is derived the same way.
 */
function dedupeKeyOf(body: AdBillingDayMessage): string {
  return body.dedupeKey ?? billingDedupeKey(body.date, body.adCampaignId);
}

/**
 * The payments side's stub: applies each closed day once by its `dedupeKey` and acks. The keys
 * are recorded in `ad_billing_handovers` (the payments ledger here) in one D1 batch, and only the
 * rows whose key was new are handed over (here, one log line each): a row published twice —
 * by overlapping runs, or a send repeated after a crash — or redelivered is applied once.
 */
export async function handOverAdBilling(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const days = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["ad-billing"]);
  await ackOrRetryGroup(batch.queue, days, async () => {
    const db = database(env.DB);
    const t = schema.adBillingHandovers;
    const now = Date.now();
    const keys = [...new Set(days.map(({ body }) => dedupeKeyOf(body)))];
    const [first, ...rest] = d1Chunks(keys, 2).map((part) =>
      db
        .insert(t)
        .values(part.map((dedupeKey) => ({ dedupeKey, handedOverAt: now })))
        .onConflictDoNothing()
        .returning({ dedupeKey: t.dedupeKey }),
    );
    const inserted = first ? await db.batch([first, ...rest]) : [];
    const fresh = new Set(inserted.flat().map((row) => row.dedupeKey));
    for (const { body } of days) {
      if (!fresh.delete(dedupeKeyOf(body))) continue; // applied before, or earlier in this batch
      const spend = toMoneyJson(body.spend);
      log("info", "ad billing day handed over", { system: "ads", requestId: body.httpRequestId, date: body.date, adCampaignId: body.adCampaignId, chargedClicks: body.chargedClicks, spend: spend.value, currency: spend.currency });
      // Spend per ad campaign for the SQL API (docs/operations.md); a redelivered day counts again there, not in D1.
      recordMetric(env, { system: "ads", kind: "ad-spend", name: body.adCampaignId, detail: body.spend.currency, count: body.chargedClicks, value: body.spend.minor });
    }
  });
}
