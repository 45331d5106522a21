import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { cursorSchema } from "../../shared/cursor.ts";
import { toHex } from "../../shared/hmac.ts";
import { eventIdSchema } from "../../shared/ids.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { DAY_MS, toIso } from "../../shared/time.ts";
import { WEBHOOK_EVENT_TYPES } from "../../shared/webhooks/events.ts";
import { decryptSecret, encryptSecret } from "../../shared/webhooks/secrets.ts";
import { allWebhooks, findWebhook, insertWebhook, listDeliveries, removeWebhook, replaceSecret, toWebhookJson, type Webhook } from "../../shared/webhooks/store.ts";
import { requireRole } from "../http/auth.ts";
import { ApiError } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { secretFor } from "../http/secrets.ts";
import { allowsLocalWebhooks, webhookUrlProblem } from "./url-rule.ts";

/** Webhook registration and delivery logs, mounted at `/admin` beside the other operators' tools. */
export const webhookRoutes = createRouter();

const adminOnly = requireRole("admin");

// The address rule depends on a var (ALLOW_LOCAL_WEBHOOKS), so the handler applies it
// (`webhookUrlProblem`); the schema checks the shape.
const webhookUrlSchema = z.string().max(2048).url().meta({ example: "https://hooks.example.com/tally" });

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = DAY_MS;

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
    error: z.string().nullable().meta({ description: "The failure's category (`timeout`, `dns`, `connection-refused`, `http-5xx` …); null when delivered" }),
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
      "backoff for up to 24 h. `url` must be https to a public address: private, loopback, link-local, shared " +
      "(100.64/10) and unique-local addresses and local names are refused (400 naming `url`); plain " +
      "`http://127.0.0.1` and `http://localhost` only where the var `ALLOW_LOCAL_WEBHOOKS` is `\"true\"` (local " +
      "runs). The secret is in this answer only: a resend with the same `webhookId` and terms answers the " +
      "registration without it (rotate it with `rotateWebhookSecret` if it was lost); other terms are 409, as is " +
      `the id of a deleted webhook (ids are never reused) and a registration beyond ${MAX_WEBHOOKS} webhooks.`,
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newWebhookSchema) },
    responses: {
      201: jsonResponse(
        z.object({
          webhook: webhookSchema,
          secret: z.string().optional().meta({ description: "Only in the answer that created the webhook; absent when a resend is answered" }),
        }),
        "Registered; keep the secret to verify signatures",
      ),
      ...problemResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const urlProblem = webhookUrlProblem(body.url, allowsLocalWebhooks(c.env));
    if (urlProblem) throw new ApiError("validation_failed", `url ${urlProblem}`, { errors: [{ path: "url", message: urlProblem }] });
    const key = secretFor(c.env, "WEBHOOK_ENCRYPTION_KEY");
    const events = WEBHOOK_EVENT_TYPES.filter((type) => body.events.includes(type));
    const replay = (stored: Webhook) => {
      if (stored.deletedAt !== null) {
        throw new ApiError("conflict", `webhook ${stored.webhookId} was deleted; webhook ids are never reused, register under another id`);
      }
      if (!sameTerms({ url: stored.url, events: stored.events }, { url: body.url, events })) {
        throw new ApiError("idempotency_conflict", `webhook id ${stored.webhookId} was already used with a different payload`);
      }
      // The secret was shown once, when it was created; a resend does not show it again.
      return c.json({ webhook: toWebhookJson(stored) }, 201);
    };
    const known = body.webhookId === undefined ? undefined : await findWebhook(c.env.DB, body.webhookId);
    if (known) return replay(known);
    if ((await allWebhooks(c.env.DB)).length >= MAX_WEBHOOKS) {
      throw new ApiError("conflict", `there are already ${MAX_WEBHOOKS} webhooks, the most Tally keeps; delete one first`);
    }
    const webhookId = body.webhookId ?? crypto.randomUUID();
    const secret = newSecret();
    const { created, stored } = await insertWebhook(c.env.DB, {
      webhookId,
      url: body.url,
      events,
      secret: await encryptSecret(key, webhookId, secret),
      createdAt: Date.now(),
    });
    // Registered by a concurrent request with the same id in between.
    if (!created) return replay(stored);
    return c.json({ webhook: toWebhookJson(stored), secret }, 201);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: "post",
    path: "/webhooks/{webhookId}/rotate-secret",
    operationId: "rotateWebhookSecret",
    tags: ["admin"],
    summary: "Replace a webhook's signing secret; the new one is shown once",
    description:
      "Deliveries are signed with the new secret at once and, for the next 24 h, with the replaced one too: the " +
      "`tally-signature` header then carries two `v1=` signatures (new first), so a receiver verifies with either " +
      "secret while it is updated. Rotating again within those 24 h drops the older secret at once. Each call rotates.",
    security: bearer,
    middleware: [adminOnly],
    request: { params: webhookIdParams },
    responses: {
      200: jsonResponse(
        z.object({
          webhook: webhookSchema,
          secret: z.string().meta({ description: "The new secret; shown only in this answer" }),
          previousSecretExpiresAt: z.string().meta({ description: "Until when deliveries are also signed with the replaced secret" }),
        }),
        "Rotated",
      ),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { webhookId } = c.req.valid("param");
    const key = secretFor(c.env, "WEBHOOK_ENCRYPTION_KEY");
    // A concurrent rotation wins the compare-and-set; read again and rotate after it.
    for (let tries = 0; tries < 3; tries++) {
      const hook = await findWebhook(c.env.DB, webhookId);
      if (!hook || hook.deletedAt !== null) throw new ApiError("not_found", `no webhook ${webhookId}`);
      const secret = newSecret();
      const until = Date.now() + ROTATION_OVERLAP_MS;
      // Re-sealed so the previous secret's ciphertext is fresh too (and legacy plaintext gets encrypted).
      const previous = await encryptSecret(key, webhookId, await decryptSecret(key, webhookId, hook.secret));
      const rotated = await replaceSecret(c.env.DB, hook, await encryptSecret(key, webhookId, secret), previous, until);
      if (rotated) return c.json({ webhook: toWebhookJson(rotated), secret, previousSecretExpiresAt: toIso(until) }, 200);
    }
    throw new ApiError("conflict", `webhook ${webhookId} is being rotated by another request; try again`);
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
    description:
      "One row per attempt: the receiver's status (null when it did not answer), duration, an error category " +
      "(`timeout`, `dns`, `connection-refused`, `connection-reset`, `tls`, `network`, `address-not-allowed`, " +
      "`http-3xx` for a redirect, `http-4xx`, `http-5xx`; never the network error's text), and `gaveUp` on the last " +
      "one of an event that was never delivered. A deleted webhook's log stays readable here.",
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
    summary: "Delete a webhook: nothing more is sent to it; its delivery log stays readable and its id is never reused",
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
    if (!hook || !(await removeWebhook(c.env.DB, webhookId))) throw new ApiError("not_found", `no webhook ${webhookId}`);
    return c.json({ webhook: toWebhookJson(hook) }, 200);
  },
);
