import type { QueueMessage } from "../shared/messages.ts";
import { recordDeadLetters } from "./admin/dead-letters.ts";
import { applyQualifiedPurchases, onCampaignLifecycle, qualifyPurchases } from "./campaigns/consumers.ts";
import { recordEstablishedConnections } from "./connections/consumers.ts";
import { consumeIncentiveEvents, fulfilIncentiveAwards } from "./incentives/consumers.ts";
import { consumeUserTags } from "./user-tags/consumers.ts";

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
  "dead-letters": recordDeadLetters,
};

/** Exponential backoff for a message that failed `attempts` times: 2, 4, 8 … at most 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(1, attempts), 300);
}

/** Acks each message that its handler settled and retries, with backoff, each one that threw. */
export async function forEachMessage<T>(
  batch: MessageBatch<T>,
  handle: (message: Message<T>) => Promise<void>,
): Promise<void> {
  for (const message of batch.messages) {
    try {
      await handle(message);
      message.ack();
    } catch (error) {
      console.warn(`queue ${batch.queue}: message ${message.id} failed (attempt ${message.attempts})`, error);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

/** Settles a group of messages that one call handled together: all acked, or all retried. */
export async function settleGroup<T>(queue: string, messages: Message<T>[], run: () => Promise<void>): Promise<void> {
  try {
    await run();
    for (const message of messages) message.ack();
  } catch (error) {
    console.warn(`queue ${queue}: group of ${messages.length} failed`, error);
    for (const message of messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

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
