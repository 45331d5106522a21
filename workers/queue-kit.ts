/**
 * What every queue consumer shares: the backoff, acking or retrying a group of messages, picking a
 * batch's messages of one kind, and sending many messages. Consumers import this module and
 * `workers/queues.ts` imports the consumers, so nothing here may import a consumer.
 */
import type { z } from "zod";
import { type Backoff, backoffDelay } from "../shared/backoff.ts";
import { log, type LogFields, type LogSystem } from "../shared/log.ts";
import type { QueueMessage } from "../shared/messages.ts";

// `sendAll` lives in shared/ so Durable Objects (which import only shared/) can send too.
import { sendAll } from "../shared/queue-send.ts";

export { sendAll };

/** The system each queue belongs to, for its log lines and data points. */
export const SYSTEM_OF_QUEUE: Readonly<Record<string, LogSystem>> = {
  "purchase-events": "campaigns",
  "qualified-purchase-events": "campaigns",
  "campaign-lifecycle": "campaigns",
  "incentive-events": "incentives",
  "incentive-awards": "incentives",
  "established-connections": "connections",
  "user-tags": "allezon",
  "ad-billing": "ads",
  "webhook-deliveries": "webhooks",
  "dead-letters": "platform",
};

/**
 * The log fields naming the HTTP requests behind `messages`: `requestId` when they share one,
 * and every distinct one in `requestIds` when there are several.
 */
export function requestFields(queue: string, messages: readonly Message<unknown>[]): LogFields {
  const ids = [...new Set(messages.flatMap((m) => {
    const id = (m.body as { httpRequestId?: unknown } | null)?.httpRequestId;
    return typeof id === "string" ? [id] : [];
  }))];
  return { system: SYSTEM_OF_QUEUE[queue] ?? "platform", queue, requestId: ids.length === 1 ? ids[0] : null, ...(ids.length > 1 ? { requestIds: ids } : {}) };
}

/** Exponential backoff for a message that failed `attempts` times: 2, 4, 8 … at most 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return backoffDelay(attempts, { first: 2, most: 300 });
}

/**
 * Retries one message with backoff. After the queue's `max_retries` the platform moves it to the
 * dead-letter queue, where an admin sees it and can re-drive it.
 */
export function retryLater(message: Message<unknown>): void {
  message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
}

/**
 * Runs `run`, which handles `messages` together in one call, then acks them all; when it throws,
 * retries them all with backoff (their effects are keyed by event id, so the redelivery redoes
 * only what did not commit).
 */
export async function ackOrRetryGroup(queue: string, messages: readonly Message<unknown>[], run: () => Promise<void>): Promise<void> {
  if (messages.length === 0) return;
  try {
    await run();
    for (const message of messages) message.ack();
  } catch (error) {
    log("warn", "queue group failed; retrying it", { ...requestFields(queue, messages), messages: messages.length, error });
    for (const message of messages) retryLater(message);
  }
}

/**
 * The batch's messages that `schema` (from `QUEUE_MESSAGE_SCHEMAS` in shared/messages.ts)
 * accepts, typed. The one policy for strays, in every consumer: a message of another kind or
 * shape can never be handled by this consumer, and acking it would lose it, so it is retried with
 * backoff until `max_retries` and then lands in the dead letters (`GET /admin/dead-letters`),
 * where an admin sees it and can re-drive it where it belongs. An accepted message keeps its body
 * exactly as sent (fields the schema does not name included): the schema checks, it does not copy.
 */
export function messagesOfKind<T extends QueueMessage>(batch: MessageBatch<QueueMessage>, schema: z.ZodType<T>): Message<T>[] {
  const accepted: Message<T>[] = [];
  for (const message of batch.messages) {
    const parsed = schema.safeParse(message.body);
    if (parsed.success) {
      accepted.push(message as Message<T>);
      continue;
    }
    const kind = (message.body as { kind?: unknown } | null)?.kind;
    log("error", "message not for this consumer; it goes to the dead letters", {
      ...requestFields(batch.queue, [message]),
      messageId: message.id,
      kind: String(kind),
      issues: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`),
    });
    retryLater(message);
  }
  return accepted;
}


/**
 * How long the first message handed to `sendCoalesced` waits for others to share its `sendBatch`, in
 * ms: a few ms of latency for one queue call per window instead of one per event (each call costs
 * CPU in the isolate and in the queue service).
 */
export const COALESCE_WINDOW_MS = 5;

/** Messages handed to `sendCoalesced` per queue binding, not yet sent, and when they go. */
const pendingSends = new Map<Queue, { bodies: QueueMessage[]; sendsAt: number; outcome: { error?: unknown } | undefined }>();

/**
 * How often a request waiting on a shared batch looks whether it is done: after 1 ms, then twice as
 * long each time up to 8 ms, so a send that takes long costs a few timers rather than one per ms.
 */
const COALESCED_POLL_MS: Backoff = { first: 1, most: 8 };
/** How long it waits at most: should the sending request die with the batch unsettled, it fails (the client resends) rather than hang. */
const COALESCED_WAIT_MS = 30_000;

/**
 * Sends `body` on `queue` in one `sendBatch` with every other message that requests of this
 * isolate hand to the same queue within COALESCE_WINDOW_MS, and resolves (or rejects) when that
 * batch does — so the caller still answers only once its message is accepted, and a failed batch
 * fails each of its requests. Under concurrent ingest that is one queue call for many events
 * instead of one each. `waitUntil` (the first caller's) keeps the send going if that caller's
 * client goes away.
 *
 * A request must not continue in a promise another request resolves: the runtime would run its
 * continuation in that other request's I/O context, where its response cannot be built. So each
 * caller waits on its own timers and reads the shared outcome.
 *
 * @example
 * await sendCoalesced(c.env.USER_TAGS, message, waitUntilOf(c));
 */
export async function sendCoalesced(queue: Queue, body: QueueMessage, waitUntil: (promise: Promise<unknown>) => void): Promise<void> {
  let pending = pendingSends.get(queue);
  if (!pending) {
    const batch: { bodies: QueueMessage[]; sendsAt: number; outcome: { error?: unknown } | undefined } = {
      bodies: [],
      sendsAt: Date.now() + COALESCE_WINDOW_MS,
      outcome: undefined,
    };
    pending = batch;
    pendingSends.set(queue, batch);
    const sent = new Promise((resolve) => setTimeout(resolve, COALESCE_WINDOW_MS))
      .then(() => {
        // Messages handed over from now on go in the next batch.
        pendingSends.delete(queue);
        return sendAll(queue, batch.bodies);
      })
      .then(
        () => (batch.outcome = {}),
        (error: unknown) => (batch.outcome = { error }),
      );
    waitUntil(sent);
  }
  pending.bodies.push(body);
  const batch = pending;
  const giveUpAt = Date.now() + COALESCED_WAIT_MS;
  // Asleep until the batch goes, then polling while the send is under way.
  const untilSent = batch.sendsAt - Date.now();
  if (untilSent > 0) await new Promise((resolve) => setTimeout(resolve, untilSent));
  for (let polls = 1; !batch.outcome; polls++) {
    if (Date.now() > giveUpAt) throw new Error(`a batch on a queue did not settle within ${COALESCED_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, backoffDelay(polls, COALESCED_POLL_MS)));
  }
  if ("error" in batch.outcome) throw batch.outcome.error;
}
