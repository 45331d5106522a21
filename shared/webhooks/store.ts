/** The webhooks and their delivery log in D1. */
import { and, desc, eq, gte, inArray, isNull, lt, lte } from "drizzle-orm";
import { encodeCursor } from "../cursor.ts";
import { d1Chunks, runInOneBatch } from "../db/chunks.ts";
import { database, schema } from "../db/client.ts";
import { toIso } from "../time.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./events.ts";

const { webhooks, webhookDeliveries } = schema;

/** Parameters one delivery row binds (every column but the generated id). */
const DELIVERY_COLUMNS = 9;

/** A registration as stored: its secrets sealed (shared/webhooks/secrets.ts). */
export interface Webhook {
  webhookId: string;
  url: string;
  events: WebhookEventType[];
  /** The signing secret, encrypted; empty once deleted. */
  secret: string;
  createdAt: number;
  /** The secret the last rotation replaced (encrypted), signing too until `previousSecretUntil`. */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  /** When an admin deleted it; its id is never registered again. */
  deletedAt: number | null;
}

export interface WebhookJson {
  webhookId: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
}

export interface DeliveryAttempt {
  webhookId: string;
  eventId: string;
  type: string;
  attempt: number;
  status: number | null;
  durationMs: number;
  error: string | null;
  gaveUp: boolean;
  at: number;
}

function toWebhook(row: typeof webhooks.$inferSelect): Webhook {
  const events = (JSON.parse(row.events) as string[]).filter((type): type is WebhookEventType =>
    (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type),
  );
  return { ...row, events };
}

/** The public view: everything but the secret. */
export function toWebhookJson(hook: Webhook): WebhookJson {
  return { webhookId: hook.webhookId, url: hook.url, events: hook.events, createdAt: toIso(hook.createdAt) };
}

/**
 * Stores a new webhook; when `webhookId` is taken — by a live webhook or a deleted one, ids are
 * never reused — stores nothing and answers the stored one.
 */
export async function insertWebhook(
  d1: D1Database,
  hook: Pick<Webhook, "webhookId" | "url" | "events" | "secret" | "createdAt">,
): Promise<{ created: boolean; stored: Webhook }> {
  const db = database(d1);
  const [inserted] = await db
    .insert(webhooks)
    .values({ ...hook, events: JSON.stringify(hook.events) })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { created: true, stored: toWebhook(inserted) };
  const [first] = await db.select().from(webhooks).where(eq(webhooks.webhookId, hook.webhookId));
  return { created: false, stored: toWebhook(first!) };
}

/** Every webhook not deleted, oldest first (an admin registers a handful; publishing reads them all). */
export async function allWebhooks(d1: D1Database): Promise<Webhook[]> {
  const found = await database(d1).select().from(webhooks).where(isNull(webhooks.deletedAt)).orderBy(webhooks.createdAt, webhooks.webhookId);
  return found.map(toWebhook);
}

/** The webhook of this id, deleted or not. */
export async function findWebhook(d1: D1Database, webhookId: string): Promise<Webhook | undefined> {
  const [row] = await database(d1).select().from(webhooks).where(eq(webhooks.webhookId, webhookId));
  return row ? toWebhook(row) : undefined;
}

/** The webhooks of these ids, by id, deleted ones included (the caller checks `deletedAt`). */
export async function webhooksByIds(d1: D1Database, ids: readonly string[]): Promise<Map<string, Webhook>> {
  const db = database(d1);
  const found = new Map<string, Webhook>();
  for (const part of d1Chunks([...new Set(ids)], 1)) {
    for (const row of await db.select().from(webhooks).where(inArray(webhooks.webhookId, part))) found.set(row.webhookId, toWebhook(row));
  }
  return found;
}

/**
 * Deletes a webhook: nothing is sent to it any more (deliveries still queued are dropped by the
 * consumer), its secrets are wiped, and the row stays so the id is never registered again and its
 * delivery log stays readable. False when it was not there or already deleted.
 */
export async function removeWebhook(d1: D1Database, webhookId: string): Promise<boolean> {
  const removed = await database(d1)
    .update(webhooks)
    .set({ deletedAt: Date.now(), secret: "", previousSecret: null, previousSecretUntil: null })
    .where(and(eq(webhooks.webhookId, webhookId), isNull(webhooks.deletedAt)))
    .returning({ webhookId: webhooks.webhookId });
  return removed.length > 0;
}

/**
 * Replaces a live webhook's secret with `secret` (encrypted), keeping the one it replaces as the
 * previous secret until `previousUntil`. Compare-and-set on the stored secret, so two rotations at
 * once cannot both keep the same previous secret: the loser gets undefined and may try again.
 */
export async function replaceSecret(
  d1: D1Database,
  hook: Webhook,
  secret: string,
  previousSecret: string,
  previousUntil: number,
): Promise<Webhook | undefined> {
  const [row] = await database(d1)
    .update(webhooks)
    .set({ secret, previousSecret, previousSecretUntil: previousUntil })
    .where(and(eq(webhooks.webhookId, hook.webhookId), eq(webhooks.secret, hook.secret), isNull(webhooks.deletedAt)))
    .returning();
  return row ? toWebhook(row) : undefined;
}

/** `webhookId event-id` pairs among these events that some attempt already delivered (2xx). */
export async function deliveredPairs(d1: D1Database, eventIds: readonly string[]): Promise<Set<string>> {
  const db = database(d1);
  const done = new Set<string>();
  for (const part of d1Chunks([...new Set(eventIds)], 1, 2)) {
    const found = await db
      .select({ webhookId: webhookDeliveries.webhookId, eventId: webhookDeliveries.eventId })
      .from(webhookDeliveries)
      .where(and(inArray(webhookDeliveries.eventId, part), gte(webhookDeliveries.status, 200), lte(webhookDeliveries.status, 299)));
    for (const row of found) done.add(pairKey(row.webhookId, row.eventId));
  }
  return done;
}

export function pairKey(webhookId: string, eventId: string): string {
  return `${webhookId} ${eventId}`;
}

/** Logs attempts, all in one D1 batch. */
export async function recordAttempts(d1: D1Database, attempts: readonly DeliveryAttempt[]): Promise<void> {
  const db = database(d1);
  await runInOneBatch(db, d1Chunks(attempts, DELIVERY_COLUMNS).map((part) => db.insert(webhookDeliveries).values(part)));
}

/** Where a page of deliveries ends: the last attempt's id (newest first). */
export type DeliveryPosition = [deliveryId: number];

/** A webhook's attempts newest first, `limit` a page, after `after` (where the previous page ended). */
export async function listDeliveries(
  d1: D1Database,
  webhookId: string,
  limit: number,
  after: DeliveryPosition | undefined,
): Promise<{ deliveries: (Omit<DeliveryAttempt, "webhookId" | "at"> & { deliveryId: string; at: string })[]; nextCursor: string | null }> {
  const t = webhookDeliveries;
  const found = await database(d1)
    .select()
    .from(t)
    .where(and(eq(t.webhookId, webhookId), after === undefined ? undefined : lt(t.deliveryId, after[0])))
    .orderBy(desc(t.deliveryId))
    .limit(limit + 1);
  const page = found.slice(0, limit);
  const last = page.at(-1);
  return {
    deliveries: page.map((row) => ({
      deliveryId: String(row.deliveryId),
      eventId: row.eventId,
      type: row.type,
      attempt: row.attempt,
      status: row.status,
      durationMs: row.durationMs,
      error: row.error,
      gaveUp: row.gaveUp,
      at: toIso(row.at),
    })),
    nextCursor: found.length > limit && last ? encodeCursor([last.deliveryId] satisfies DeliveryPosition) : null,
  };
}
