import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { QueueMessage } from "../../shared/messages.ts";
import worker from "../../workers/index.ts";

/** What a delivered batch came to: the platform's acks and retries, each retry with the delay its consumer asked for. */
export interface DeliveryResult extends QueueResult {
  retryMessages: { msgId: string; delaySeconds?: number | undefined }[];
}

let messageSeq = 0;

/**
 * Hands `bodies` to the Worker's queue handler as one batch on `queue`, as the platform would
 * deliver it: `attempts` is the platform's count (1 for a first delivery), `ids` the message ids
 * (a dead letter re-delivered keeps its id), `env` the bindings the Worker sees (a wrapped binding to fail chosen calls). `getQueueResult` does not report a retry's delay, so
 * each message's `retry` is watched (and still called) to read the delay its consumer asked for.
 *
 * @example
 * const result = await deliver("incentive-events", [message], { attempts: 2 });
 * expect(result.retryMessages).toEqual([]);
 */
export async function deliver(
  queue: string,
  bodies: readonly QueueMessage[],
  options: { attempts?: number; ids?: readonly string[]; env?: Env } = {},
): Promise<DeliveryResult> {
  const batch = createMessageBatch<QueueMessage>(
    queue,
    bodies.map((body, i) => ({ id: options.ids?.[i] ?? `msg-${++messageSeq}`, timestamp: new Date(), attempts: options.attempts ?? 1, body })),
  );
  const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? env, ctx);
  const result = await getQueueResult(batch, ctx);
  const delays = new Map(batch.messages.map((message, i) => [message.id, retries[i]!.mock.calls.at(-1)?.[0]?.delaySeconds]));
  return { ...result, retryMessages: result.retryMessages.map(({ msgId }) => ({ msgId, delaySeconds: delays.get(msgId) })) };
}
