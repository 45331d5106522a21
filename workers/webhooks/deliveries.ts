/**
 * The `webhook-deliveries` consumer: POSTs each event to its webhook, signed, and logs every
 * attempt. A failed attempt is retried by the queue with exponential backoff (30 s, 1 min, 2 min …
 * at most 12 h, the platform's longest delay) until 24 h have passed since the event was queued;
 * the attempt that fails after that is logged as the last (`gaveUp`) and the message acked.
 */
import { backoffDelay } from "../../shared/backoff.ts";
import { log } from "../../shared/log.ts";
import { QUEUE_MESSAGE_SCHEMAS, type QueueMessage, type WebhookDeliveryMessage } from "../../shared/messages.ts";
import { DAY_MS } from "../../shared/time.ts";
import { SIGNATURE_HEADER, signWebhookBody } from "../../shared/webhook-signature.ts";
import { decryptSecret } from "../../shared/webhooks/secrets.ts";
import { type DeliveryAttempt, deliveredPairs, pairKey, recordAttempts, type Webhook, webhooksByIds } from "../../shared/webhooks/store.ts";
import { messagesOfKind, requestFields, retryLater } from "../queue-kit.ts";
import { allowsLocalWebhooks, webhookUrlProblem } from "./url-rule.ts";

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

/**
 * What the delivery log says about a failed attempt: a category, never the network error's text
 * (which names addresses and ports, and would make the log a port scanner for an admin token).
 */
export type DeliveryErrorCategory =
  | "timeout"
  | "dns"
  | "connection-refused"
  | "connection-reset"
  | "tls"
  | "address-not-allowed"
  | "network"
  | `http-${1 | 2 | 3 | 4 | 5}xx`;

/** The category of an error `fetch` threw; its text goes to the Worker's own log only. */
function categoryOf(error: unknown): DeliveryErrorCategory {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timeout";
  const text = String(error).toLowerCase();
  if (/dns|name not resolved|resolve|lookup|enotfound|no such host/.test(text)) return "dns";
  if (/refused/.test(text)) return "connection-refused";
  if (/tls|ssl|certificate|handshake/.test(text)) return "tls";
  if (/reset|lost|closed|disconnected|broken pipe/.test(text)) return "connection-reset";
  return "network";
}

/** The category of a non-2xx status: `http-4xx`, `http-5xx`, or `http-3xx` for a redirect (not followed). */
function statusCategory(status: number): DeliveryErrorCategory {
  return `http-${Math.min(5, Math.max(1, Math.floor(status / 100))) as 1 | 2 | 3 | 4 | 5}xx`;
}

/** One signed POST, under every secret that is signing now; never throws: a failure is a status or a category. */
async function attemptDelivery(
  hook: Webhook,
  secrets: readonly string[],
  event: WebhookDeliveryMessage["event"],
): Promise<{ status: number | null; durationMs: number; error: DeliveryErrorCategory | null }> {
  const body = JSON.stringify(event);
  const started = performance.now();
  try {
    const signature = await signWebhookBody(secrets, body, Math.floor(Date.now() / 1000));
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
    return { status: response.status, durationMs: Math.round(performance.now() - started), error: ok ? null : statusCategory(response.status) };
  } catch (error) {
    const category = categoryOf(error);
    console.warn(`webhook ${hook.webhookId}: delivery of ${event.id} failed (${category})`, error);
    return { status: null, durationMs: Math.round(performance.now() - started), error: category };
  }
}

/** The secrets a delivery is signed with now: the current one, then the previous one during its overlap. */
async function signingSecrets(env: Env, hook: Webhook, now: number): Promise<string[]> {
  const key = (env as { WEBHOOK_ENCRYPTION_KEY?: string }).WEBHOOK_ENCRYPTION_KEY;
  // Thrown, so the batch is retried (and ends in the dead letters) rather than sent unsigned.
  if (!key) throw new Error("WEBHOOK_ENCRYPTION_KEY is not set: webhook deliveries cannot be signed");
  const secrets = [await decryptSecret(key, hook.webhookId, hook.secret)];
  if (hook.previousSecret && hook.previousSecretUntil !== null && hook.previousSecretUntil > now) {
    secrets.push(await decryptSecret(key, hook.webhookId, hook.previousSecret));
  }
  return secrets;
}

/**
 * Delivers a batch: each message is attempted once (in parallel), unless its webhook was deleted,
 * does not subscribe to the event's type, or an earlier attempt already delivered the same event to
 * it (a publish repeated by its source). Webhook ids are never reused (a deleted one stays as a
 * tombstone), so a retry queued for a deleted webhook can never reach a later registration. A
 * webhook whose URL the address rule refuses (registered before the rule, or while local receivers
 * were allowed) is logged as `address-not-allowed` and given up at once.
 * The attempts are logged in one D1 batch before any message is acked or retried; if that write
 * fails, every message is retried (a receiver dedupes the repeat by `id`).
 */
export async function deliverWebhooks(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["webhook-deliveries"]);
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
        if (!hook || hook.deletedAt !== null || !(hook.events as readonly string[]).includes(event.type)) return { message };
        if (delivered.has(pairKey(webhookId, event.id))) return { message };
        const refused = webhookUrlProblem(hook.url, allowsLocalWebhooks(env)) !== undefined;
        const result = refused
          ? { status: null, durationMs: 0, error: "address-not-allowed" as const }
          : await attemptDelivery(hook, await signingSecrets(env, hook, Date.now()), event);
        const at = Date.now();
        const retrySeconds = result.error === null || refused ? undefined : nextRetrySeconds(message.attempts, at - queuedAt);
        const gaveUp = result.error !== null && retrySeconds === undefined;
        attempts.push({ webhookId, eventId: event.id, type: event.type, attempt: message.attempts, ...result, gaveUp, at });
        if (gaveUp) log("warn", "webhook delivery gave up after 24 h", { ...requestFields(batch.queue, [message]), webhookId, eventId: event.id, attempts: message.attempts });
        return { message, retrySeconds };
      }),
    );
    await recordAttempts(env.DB, attempts);
  } catch (error) {
    log("warn", "could not deliver or log a batch; retrying it", { ...requestFields(batch.queue, messages), messages: messages.length, error });
    for (const message of messages) retryLater(message);
    return;
  }
  for (const { message, retrySeconds } of outcomes) {
    if (retrySeconds === undefined) message.ack();
    else message.retry({ delaySeconds: retrySeconds });
  }
}
