import type { QueueMessage } from "../../shared/messages.ts";

export async function qualifyPurchases(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.retryAll();
}
export async function applyQualifiedPurchases(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.retryAll();
}
export async function onCampaignLifecycle(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.ackAll();
}
