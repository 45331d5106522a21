import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { cursorSchema } from "../../shared/cursor.ts";
import { toHex } from "../../shared/hmac.ts";
import { eventIdSchema } from "../../shared/ids.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { requireRole } from "../http/auth.ts";
import { ApiError } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { WEBHOOK_EVENT_TYPES } from "./events.ts";
import { allWebhooks, findWebhook, insertWebhook, listDeliveries, removeWebhook, toWebhookJson } from "./store.ts";

/** Webhook registration and delivery logs, mounted at `/admin` beside the other operators' tools. */
export const webhookRoutes = createRouter();

const adminOnly = requireRole("admin");

/** Hosts plain http may be used with: a receiver on the same machine (`scripts/webhook-receiver.ts`). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

const webhookUrlSchema = z
  .string()
  .max(2048)
  .url()
  .superRefine((text, ctx) => {
    // `.url()` has already reported text that is no URL.
    if (!URL.canParse(text)) return;
    const url = new URL(text);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
      ctx.addIssue({ code: "custom", message: "must be https (plain http only for localhost or 127.0.0.1)" });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "must not carry credentials" });
  })
  .meta({ example: "https://hooks.example.com/tally" });

const eventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

const newWebhookSchema = z
  .object({
    webhookId: eventIdSchema.optional(),
    url: webhookUrlSchema,
    events: z.array(eventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length),
  })
  .meta({ id: "NewWebhook" });

const webhookSchema = z
  .object({ webhookId: z.string(), url: z.string(), events: z.array(eventTypeSchema), createdAt: z.string() })
  .meta({ id: "Webhook" });

const deliverySchema = z
  .object({
    deliveryId: z.string(),
    eventId: z.string(),
    type: eventTypeSchema,
    attempt: z.number().int(),
    status: z.number().int().nullable().meta({ description: "The receiver's HTTP status; null when it did not answer" }),
    durationMs: z.number().int(),
    error: z.string().nullable(),
    gaveUp: z.boolean().meta({ description: "The last attempt: it failed 24 h after the event was queued, no retry follows" }),
    at: z.string(),
  })
  .meta({ id: "WebhookDelivery" });

const webhookIdParams = z.object({ webhookId: eventIdSchema });

/** Webhooks a deployment may have: every publish reads them all, and the list is answered in one page. */
export const MAX_WEBHOOKS = 100;

/** `whsec_` and 32 random bytes in hex. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${toHex(bytes)}`;
}

webhookRoutes.openapi(
  createRoute({
    method: "post",
    path: "/webhooks",
    operationId: "createWebhook",
    tags: ["admin"],
    summary: "Register a URL for webhook events (the signing secret is shown once)",
    description:
      "Each event is POSTed as `{\"id\",\"type\",\"createdAt\",\"data\"}` with `tally-signature: t=<unix seconds>,v1=<hex " +
      "HMAC-SHA256 of \"<t>.<body>\" under the secret>`, at least once (dedupe by `id`), retried with exponential " +
      "backoff for up to 24 h. `url` must be https (http only for localhost). A resend with the same `webhookId` and " +
      `terms answers the first registration; other terms are 409, as is a registration beyond ${MAX_WEBHOOKS} webhooks.`,
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newWebhookSchema) },
    responses: {
      201: jsonResponse(z.object({ webhook: webhookSchema, secret: z.string() }), "Registered; keep the secret to verify signatures"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const events = WEBHOOK_EVENT_TYPES.filter((type) => body.events.includes(type));
    const existing = await allWebhooks(c.env.DB);
    const replayed = existing.some((hook) => hook.webhookId === body.webhookId);
    if (!replayed && existing.length >= MAX_WEBHOOKS) {
      throw new ApiError("conflict", `there are already ${MAX_WEBHOOKS} webhooks, the most Tally keeps; delete one first`);
    }
    const { created, stored } = await insertWebhook(c.env.DB, {
      webhookId: body.webhookId ?? crypto.randomUUID(),
      url: body.url,
      events,
      secret: newSecret(),
      createdAt: Date.now(),
    });
    if (!created && !sameTerms({ url: stored.url, events: stored.events }, { url: body.url, events })) {
      throw new ApiError("idempotency_conflict", `webhook id ${stored.webhookId} was already used with a different payload`);
    }
    return c.json({ webhook: toWebhookJson(stored), secret: stored.secret }, 201);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: "get",
    path: "/webhooks",
    operationId: "listWebhooks",
    tags: ["admin"],
    summary: "Registered webhooks, oldest first (without their secrets)",
    security: bearer,
    middleware: [adminOnly],
    responses: {
      200: jsonResponse(z.object({ webhooks: z.array(webhookSchema) }), "Every webhook"),
      ...problemResponses,
    },
  }),
  async (c) => {
    return c.json({ webhooks: (await allWebhooks(c.env.DB)).map(toWebhookJson) }, 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: "get",
    path: "/webhooks/{webhookId}/deliveries",
    operationId: "listWebhookDeliveries",
    tags: ["admin"],
    summary: "Every delivery attempt of a webhook, newest first",
    description: "One row per attempt: the receiver's status (null when it did not answer), duration, error, and `gaveUp` on the last one of an event that was never delivered.",
    security: bearer,
    middleware: [adminOnly],
    request: {
      params: webhookIdParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: cursorSchema(z.tuple([z.number().int().positive()])).optional(),
      }),
    },
    responses: {
      200: jsonResponse(z.object({ deliveries: z.array(deliverySchema), nextCursor: z.string().nullable() }), "One page of attempts"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { webhookId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    if (!(await findWebhook(c.env.DB, webhookId))) throw new ApiError("not_found", `no webhook ${webhookId}`);
    const page = await listDeliveries(c.env.DB, webhookId, limit, cursor);
    return c.json({ ...page, deliveries: page.deliveries.map((row) => ({ ...row, type: eventTypeSchema.parse(row.type) })) }, 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/webhooks/{webhookId}",
    operationId: "deleteWebhook",
    tags: ["admin"],
    summary: "Remove a webhook and its delivery log; nothing more is sent to it",
    security: bearer,
    middleware: [adminOnly],
    request: { params: webhookIdParams },
    responses: {
      200: jsonResponse(z.object({ webhook: webhookSchema }), "The webhook removed"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { webhookId } = c.req.valid("param");
    const hook = await findWebhook(c.env.DB, webhookId);
    if (!hook) throw new ApiError("not_found", `no webhook ${webhookId}`);
    await removeWebhook(c.env.DB, webhookId);
    return c.json({ webhook: toWebhookJson(hook) }, 200);
  },
);
