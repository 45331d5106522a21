/**
 * What `GET /admin/status` reads and the queue dispatcher writes: one `queue_status` row per queue
 * (one upsert per consumer batch, never per message), and counts over D1 tables that already
 * exist (dead letters, campaigns, webhook deliveries), so measuring adds nothing to the hot paths.
 */
import { and, count, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { log } from "../../shared/log.ts";
import { DAY_MS } from "../../shared/time.ts";
import { SYSTEM_OF_QUEUE } from "../queue-kit.ts";

/** One consumer batch as the status keeps it. */
export interface BatchStatus {
  queue: string;
  lastBatchAt: number;
  maxLagMs: number;
  messages: number;
  failed: boolean;
}

/**
 * Upserts the queue's row. Never throws: a status write that fails must not fail or retry the
 * batch it describes (the effects are done); the line in the logs says the status is stale.
 */
export async function recordBatchStatus(db: D1Database, status: BatchStatus): Promise<void> {
  try {
    const { queue, ...values } = status;
    await database(db).insert(schema.queueStatus).values(status).onConflictDoUpdate({ target: schema.queueStatus.queue, set: values });
  } catch (error) {
    log("warn", "could not record the queue's batch status", { system: "platform", queue: status.queue, error });
  }
}

/** The queues with a consumer, in the order wrangler.toml lists them. */
export const CONSUMED_QUEUES = Object.keys(SYSTEM_OF_QUEUE);

/**
 * The producer binding of a queue, as dead letters record it: each binding is its queue's name in
 * upper case with `_` for `-` (wrangler.toml), e.g. `purchase-events` → `PURCHASE_EVENTS`.
 */
export function bindingOfQueue(queue: string): string {
  return queue.toUpperCase().replaceAll("-", "_");
}

/** Margin past the 24 h retry window: the last retry may land a little after it. */
const RETRY_WINDOW_SLACK_MS = 3_600_000;

/** How long after it was due a settlement that has not happened counts as waiting on a retry. */
export const SETTLEMENT_GRACE_MS = 60_000;

/** The status as `GET /admin/status` answers it. */
export interface TallyStatus {
  queues: { queue: string; lastBatchAt: number | null; maxLagSeconds: number | null; deadLetters: number }[];
  settlementsPending: number;
  webhookDeliveriesFailing: number;
}

/**
 * Reads the whole status in one D1 batch: the queue rows, pending dead letters per queue,
 * settlements overdue (`settleDelayMs` after their campaign's effective end plus a grace, with no
 * `settled_at` yet: the board retries them by alarm), and webhook deliveries whose latest attempt
 * failed and is not the last (queued within the 24 h retry window).
 */
export async function readStatus(db: D1Database, now: number, settleDelayMs: number): Promise<TallyStatus> {
  const d = database(db);
  const latest = sql`(SELECT max(x.delivery_id) FROM webhook_deliveries x WHERE x.event_id = ${schema.webhookDeliveries.eventId} AND x.webhook_id = ${schema.webhookDeliveries.webhookId})`;
  const [rows, letters, settlements, failing] = await d.batch([
    d.select().from(schema.queueStatus),
    d.select({ queue: schema.deadLetters.queue, waiting: count() }).from(schema.deadLetters).where(and(isNull(schema.deadLetters.redrivenAt), isNull(schema.deadLetters.redactedAt))).groupBy(schema.deadLetters.queue),
    d
      .select({ waiting: count() })
      .from(schema.campaigns)
      .where(
        and(
          isNull(schema.campaigns.settledAt),
          lt(sql`min(coalesce(${schema.campaigns.endedAt}, ${schema.campaigns.endAt}), ${schema.campaigns.endAt})`, now - settleDelayMs - SETTLEMENT_GRACE_MS),
        ),
      ),
    d
      .select({ failing: count() })
      .from(schema.webhookDeliveries)
      .where(
        and(
          // Retries stop 24 h after the event was queued: older attempts can only be final.
          gt(schema.webhookDeliveries.at, now - DAY_MS - RETRY_WINDOW_SLACK_MS),
          sql`${schema.webhookDeliveries.error} IS NOT NULL`,
          eq(schema.webhookDeliveries.gaveUp, false),
          eq(schema.webhookDeliveries.deliveryId, latest),
        ),
      ),
  ]);
  const byQueue = new Map(rows.map((row) => [row.queue, row]));
  const lettersByBinding = new Map(letters.map((row) => [row.queue, row.waiting]));
  return {
    queues: CONSUMED_QUEUES.map((queue) => {
      const row = byQueue.get(queue);
      return {
        queue,
        lastBatchAt: row?.lastBatchAt ?? null,
        maxLagSeconds: row ? Math.round(row.maxLagMs / 100) / 10 : null,
        // The dead-letter queue's own letters are the ones it could not store: none waiting there.
        deadLetters: queue === "dead-letters" ? 0 : (lettersByBinding.get(bindingOfQueue(queue)) ?? 0),
      };
    }),
    settlementsPending: settlements[0]?.waiting ?? 0,
    webhookDeliveriesFailing: failing[0]?.failing ?? 0,
  };
}
