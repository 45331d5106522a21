import { QUEUE_MESSAGE_SCHEMAS, type QueueMessage } from "../../shared/messages.ts";
import { log } from "../../shared/log.ts";
import { messagesOfKind, requestFields, retryLater } from "../queue-kit.ts";
import { ingestTags } from "./ingest.ts";

/**
 * Consumer of `user-tags`: applies the batch with one call per profile shard and one per hour shard,
 * acks every message whose writes committed and retries, with backoff, those whose writes
 * failed. A redelivered message carries the same tag id, so it is counted once.
 */
export async function consumeUserTags(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["user-tags"]);
  if (messages.length === 0) return;
  const failed = await ingestTags(env, messages.map((m) => m.body));
  const retried = messages.filter((message) => failed.has(message.body.tagId));
  if (retried.length > 0) log("warn", "tags not stored; retrying them", { ...requestFields(batch.queue, retried), messages: retried.length });
  for (const message of messages) {
    if (failed.has(message.body.tagId)) retryLater(message);
    else message.ack();
  }
}
