import type { QueueMessage, UserTagMessage } from "../../shared/messages.ts";
import { fieldsOfKind, messagesOfKind, retryLater } from "../queue-kit.ts";
import { ingestTags } from "./ingest.ts";

function isUserTag(body: unknown): body is UserTagMessage {
  const b = fieldsOfKind(body, "user-tag");
  return (
    b !== undefined &&
    typeof b.tagId === "string" && Number.isFinite(b.time) && typeof b.cookie === "string" &&
    (b.action === "VIEW" || b.action === "BUY") && typeof b.origin === "string" && typeof b.brandId === "string" &&
    typeof b.categoryId === "string" && Number.isFinite(b.price) && typeof b.json === "string" &&
    Number.isFinite(b.acceptedAt)
  );
}

/**
 * Consumer of `user-tags`: applies the batch with one call per profile shard and one per hour shard,
 * acks every message whose writes committed and retries, with backoff, those whose writes
 * failed. A redelivered message carries the same tag id, so it is counted once.
 */
export async function consumeUserTags(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, isUserTag);
  if (messages.length === 0) return;
  const failed = await ingestTags(env, messages.map((m) => m.body));
  for (const message of messages) {
    if (failed.has(message.body.tagId)) retryLater(message);
    else message.ack();
  }
}
