import type { WebhookDeliveryMessage } from "../messages.ts";
import { sendAll } from "../queue-send.ts";
import type { WebhookEvent } from "./events.ts";
import { allWebhooks } from "./store.ts";

/**
 * Queues each event for every webhook subscribed to its type (one `webhook-deliveries` message per
 * event and webhook); the delivery consumer signs, sends and retries. The one way any source emits
 * a webhook event. It throws when D1 or the queue fails, so the caller's own retry (a queue
 * redelivery, an alarm) publishes again; the events' ids are stable, so that repeats nothing a
 * receiver has not deduped.
 */
export async function publishEvent(env: Env, events: readonly WebhookEvent[], httpRequestId?: string | null): Promise<void> {
  if (events.length === 0) return;
  const hooks = await allWebhooks(env.DB);
  if (hooks.length === 0) return;
  const queuedAt = Date.now();
  const messages: WebhookDeliveryMessage[] = events.flatMap((event) =>
    hooks
      .filter((hook) => hook.events.includes(event.type))
      .map((hook) => ({
        kind: "webhook-delivery" as const,
        webhookId: hook.webhookId,
        event,
        queuedAt,
        ...(httpRequestId ? { httpRequestId } : {}),
      })),
  );
  await sendAll(env.WEBHOOK_DELIVERIES, messages);
}
