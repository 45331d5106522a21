/** Sending many messages on a queue within the platform's per-call limits. */
import type { QueueMessage } from "./messages.ts";

/** Queues take at most 100 messages and 256 KB per `sendBatch`; the byte budget leaves a margin. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 200_000;

/**
 * Sends every body on `queue` in as few `sendBatch` calls as the platform's per-call limits (count
 * and bytes) allow: a redrive of 100 large user tags would pass 256 KB in one call.
 */
export async function sendAll(queue: Queue, bodies: readonly QueueMessage[]): Promise<void> {
  const encoder = new TextEncoder();
  let part: QueueMessage[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = encoder.encode(JSON.stringify(body)).byteLength;
    if (part.length === SEND_BATCH_MESSAGES || (part.length > 0 && bytes + size > SEND_BATCH_BYTES)) {
      await queue.sendBatch(part.map((message) => ({ body: message })));
      part = [];
      bytes = 0;
    }
    part.push(body);
    bytes += size;
  }
  if (part.length > 0) await queue.sendBatch(part.map((message) => ({ body: message })));
}
