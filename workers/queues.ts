import type { QueueMessage } from "../shared/messages.ts";
import { recordDeadLetters } from "./admin/dead-letters.ts";
import { handOverAdBilling } from "./ads/billing.ts";
import { applyQualifiedPurchases, onCampaignLifecycle, qualifyPurchases } from "./campaigns/consumers.ts";
import { recordEstablishedConnections } from "./connections/consumers.ts";
import { consumeIncentiveEvents, fulfilIncentiveAwards } from "./incentives/consumers.ts";
import { consumeUserTags } from "./user-tags/consumers.ts";
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

/** The queue entry point: dispatches on `batch.queue`. */
export async function queue(batch: MessageBatch<QueueMessage>, env: Env, ctx: ExecutionContext): Promise<void> {
  const consumer = CONSUMERS[batch.queue];
  if (!consumer) {
    console.error(`no consumer for queue ${batch.queue}; retrying so nothing is lost`);
    batch.retryAll();
    return;
  }
  await consumer(batch, env, ctx);
}
