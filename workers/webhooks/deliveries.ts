/**
 * The `webhook-deliveries` consumer: POSTs each event to its webhook, signed, and logs every
 * attempt. A failed attempt is retried by the queue with exponential backoff (30 s, 1 min, 2 min …
 * at most 12 h, the platform's longest delay) until 24 h have passed since the event was queued;
 * the attempt that fails after that is logged as the last (`gaveUp`) and the message acked.
 */
import { backoffDelay } from "../../shared/backoff.ts";
import type { QueueMessage, WebhookDeliveryMessage } from "../../shared/messages.ts";
import { DAY_MS } from "../../shared/time.ts";
import { SIGNATURE_HEADER, signWebhookBody } from "../../shared/webhook-signature.ts";
import { fieldsOfKind, messagesOfKind, retryLater } from "../queue-kit.ts";
import { type DeliveryAttempt, deliveredPairs, pairKey, recordAttempts, type Webhook, webhooksByIds } from "./store.ts";

/** How long retries go on for, counted from when the event was queued. */
export const RETRY_WINDOW_MS = DAY_MS;

/** The first retry's delay, doubling for each later one up to the longest delay Queues accepts (12 h). */
const RETRY_BACKOFF_SECONDS = { first: 30, most: 12 * 60 * 60 };

/** A receiver that does not answer within this counts as failed. */
const TIMEOUT_MS = 10_000;

/**
 * The delay before the next attempt after `attempt` failed, `elapsedMs` after the event was
 * queued: doubling from 30 s, at most 12 h, and never past the end of the 24 h window (so the last
 * attempt lands at its end). Undefined when the window is over: give up.
 */
export function nextRetrySeconds(attempt: number, elapsedMs: number): number | undefined {
  const remainingSeconds = Math.ceil((RETRY_WINDOW_MS - elapsedMs) / 1000);
  if (remainingSeconds <= 0) return undefined;
  return Math.min(backoffDelay(attempt, RETRY_BACKOFF_SECONDS), remainingSeconds);
}

function isWebhookDelivery(body: unknown): body is WebhookDeliveryMessage {
  const b = fieldsOfKind(body, "webhook-delivery");
  const event = b?.event as Record<string, unknown> | undefined;
  return (
    b !== undefined &&
    typeof b.webhookId === "string" &&
    Number.isFinite(b.queuedAt) &&
    typeof event === "object" && event !== null &&
    typeof event.id === "string" && typeof event.type === "string" && typeof event.createdAt === "string" &&
    typeof event.data === "object" && event.data !== null
  );
}

/** One signed POST; never throws: a failure is a status or an error text. */
async function attemptDelivery(hook: Webhook, event: WebhookDeliveryMessage["event"]): Promise<{ status: number | null; durationMs: number; error: string | null }> {
  const body = JSON.stringify(event);
  const started = performance.now();
  try {
    const signature = await signWebhookBody(hook.secret, body, Math.floor(Date.now() / 1000));
    const response = await fetch(hook.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Tally-Webhooks/1", [SIGNATURE_HEADER]: signature },
      body,
      // A redirect is not followed (it could lead anywhere); it counts as a failed attempt.
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { status: response.status, durationMs: Math.round(performance.now() - started), error: ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    const text = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${TIMEOUT_MS / 1000} s` : String(error);
    return { status: null, durationMs: Math.round(performance.now() - started), error: text.slice(0, 500) };
  }
}

/**
 * Delivers a batch: each message is attempted once (in parallel), unless its webhook was deleted
 * or an earlier attempt already delivered the same event to it (a publish repeated by its source).
 * The attempts are logged in one D1 batch before any message is acked or retried; if that write
 * fails, every message is retried (a receiver dedupes the repeat by `id`).
 */
export async function deliverWebhooks(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, isWebhookDelivery);
  if (messages.length === 0) return;
  let outcomes: { message: Message<WebhookDeliveryMessage>; retrySeconds?: number }[];
  try {
    const hooks = await webhooksByIds(env.DB, messages.map((m) => m.body.webhookId));
    const delivered = await deliveredPairs(env.DB, messages.map((m) => m.body.event.id));
    const attempts: DeliveryAttempt[] = [];
    outcomes = await Promise.all(
      messages.map(async (message) => {
        const { webhookId, event, queuedAt } = message.body;
        const hook = hooks.get(webhookId);
        if (!hook || delivered.has(pairKey(webhookId, event.id))) return { message };
        const result = await attemptDelivery(hook, event);
        const at = Date.now();
        const retrySeconds = result.error === null ? undefined : nextRetrySeconds(message.attempts, at - queuedAt);
        const gaveUp = result.error !== null && retrySeconds === undefined;
        attempts.push({ webhookId, eventId: event.id, type: event.type, attempt: message.attempts, ...result, gaveUp, at });
        if (gaveUp) console.warn(`webhook ${webhookId}: gave up on event ${event.id} after ${message.attempts} attempts in 24 h`);
        return { message, retrySeconds };
      }),
    );
    await recordAttempts(env.DB, attempts);
  } catch (error) {
    console.warn(`queue ${batch.queue}: could not deliver or log a batch of ${messages.length}`, error);
    for (const message of messages) retryLater(message);
    return;
  }
  for (const { message, retrySeconds } of outcomes) {
    if (retrySeconds === undefined) message.ack();
    else message.retry({ delaySeconds: retrySeconds });
  }
}
