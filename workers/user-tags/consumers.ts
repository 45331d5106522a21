import type { QueueMessage, UserTagMessage } from "../../shared/messages.ts";
import { retryDelaySeconds } from "../queues.ts";
import { ingestTags } from "./ingest.ts";

/**
 * Consumer of `user-tags`: applies the batch with one call per cookie and one per hour shard,
 * acks every message whose writes committed and retries, with backoff, those whose writes
 * failed. A redelivered message carries the same tag id, so it is counted once.
 */
export async function consumeUserTags(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = batch.messages.filter((m): m is Message<UserTagMessage> => m.body.kind === "user-tag");
  for (const message of batch.messages) {
    if (message.body.kind !== "user-tag") {
      // Not ours to apply: retrying sends it to the dead-letter queue, where an admin can see it.
      console.error(`queue ${batch.queue}: unexpected ${message.body.kind} message ${message.id}`);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
  const failed = await ingestTags(env, messages.map((m) => m.body));
  for (const message of messages) {
    if (failed.has(message.body.tagId)) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    else message.ack();
  }
}
