/**
 * What every queue consumer shares: the backoff, acking or retrying a group of messages, picking a
 * batch's messages of one kind, and sending many messages. Consumers import this module and
 * `workers/queues.ts` imports the consumers, so nothing here may import a consumer.
 */
import { type Backoff, backoffDelay } from "../shared/backoff.ts";
import type { QueueMessage } from "../shared/messages.ts";

/** Queues take at most 100 messages and 256 KB per `sendBatch`; the byte budget leaves a margin. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 200_000;

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
    console.warn(`queue ${queue}: group of ${messages.length} failed`, error);
    for (const message of messages) retryLater(message);
  }
}

/**
 * The batch's messages that `isKind` accepts, typed. The one policy for strays, in every consumer:
 * a message of another kind or shape can never be handled by this consumer, and acking it would
 * lose it, so it is retried with backoff until `max_retries` and then lands in the dead letters
 * (`GET /admin/dead-letters`), where an admin sees it and can re-drive it where it belongs.
 */
export function messagesOfKind<T extends QueueMessage>(
  batch: MessageBatch<QueueMessage>,
  isKind: (body: unknown) => body is T,
): Message<T>[] {
  const accepted: Message<T>[] = [];
  for (const message of batch.messages) {
    if (isKind(message.body)) {
      accepted.push(message as Message<T>);
      continue;
    }
    const kind = (message.body as { kind?: unknown } | null)?.kind;
    console.error(`queue ${batch.queue}: message ${message.id} (kind ${String(kind)}) is not for this consumer; it goes to the dead letters`);
    retryLater(message);
  }
  return accepted;
}

/** The body's fields when it is an object of one of `kinds`, for a consumer's shape guard. */
export function fieldsOfKind(body: unknown, ...kinds: QueueMessage["kind"][]): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const fields = body as Record<string, unknown>;
  return kinds.includes(fields.kind as QueueMessage["kind"]) ? fields : undefined;
}

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
