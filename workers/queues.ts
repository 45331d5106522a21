import { log } from "../shared/log.ts";
import type { QueueMessage } from "../shared/messages.ts";
import { recordDeadLetters } from "./admin/dead-letters.ts";
import { handOverAdBilling } from "./ads/billing.ts";
import { applyQualifiedPurchases, onCampaignLifecycle, qualifyPurchases } from "./campaigns/consumers.ts";
import { recordEstablishedConnections } from "./connections/consumers.ts";
import { consumeIncentiveEvents, fulfilIncentiveAwards } from "./incentives/consumers.ts";
import { consumeUserTags } from "./user-tags/consumers.ts";
import { recordBatchStatus } from "./admin/status-store.ts";
import { recordMetric } from "./metrics.ts";
import { SYSTEM_OF_QUEUE } from "./queue-kit.ts";
import { deliverWebhooks } from "./webhooks/deliveries.ts";

export type QueueConsumer = (batch: MessageBatch<QueueMessage>, env: Env, ctx: ExecutionContext) => Promise<void>;

/** One consumer per queue name, as configured in wrangler.toml. */
const CONSUMERS: Record<string, QueueConsumer> = {
  "purchase-events": qualifyPurchases,
  "qualified-purchase-events": applyQualifiedPurchases,
  "campaign-lifecycle": onCampaignLifecycle,
  "incentive-events": consumeIncentiveEvents,
  "incentive-awards": fulfilIncentiveAwards,
  "established-connections": recordEstablishedConnections,
  "user-tags": consumeUserTags,
  "ad-billing": handOverAdBilling,
  "webhook-deliveries": deliverWebhooks,
  "dead-letters": recordDeadLetters,
};

/**
 * The queue entry point: dispatches on `batch.queue`, and measures each batch for operators: one
 * data point (workers/metrics.ts) and one upsert of the queue's row in `queue_status` (when the
 * batch ran, the age of its oldest message), after the batch and off its critical path.
 */
export async function queue(batch: MessageBatch<QueueMessage>, env: Env, ctx: ExecutionContext): Promise<void> {
  const consumer = CONSUMERS[batch.queue];
  if (!consumer) {
    log("error", "no consumer for this queue; retrying so nothing is lost", { system: "platform", queue: batch.queue });
    batch.retryAll();
    return;
  }
  const startedAt = Date.now();
  // A retried message keeps its first send's timestamp, so a consumer that keeps failing shows a growing lag.
  const oldest = batch.messages.reduce((min, message) => Math.min(min, message.timestamp.getTime()), startedAt);
  const lagMs = Math.max(0, startedAt - oldest);
  let failed = false;
  try {
    await consumer(batch, env, ctx);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const ms = Date.now() - startedAt;
    const system = SYSTEM_OF_QUEUE[batch.queue] ?? "platform";
    recordMetric(env, { system, kind: "batch", name: batch.queue, detail: failed ? "failed" : "ok", ms, count: batch.messages.length, value: lagMs / 1000 });
    ctx.waitUntil(recordBatchStatus(env.DB, { queue: batch.queue, lastBatchAt: startedAt, maxLagMs: lagMs, messages: batch.messages.length, failed }));
  }
}
