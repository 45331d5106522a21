import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { z } from "zod";
import {
  campaignInputSchema,
  campaignSchema,
  effectiveEndAt,
  exchangeRatesInputSchema,
  positionSchema,
  purchaseInputSchema,
  recordSchema,
  winnerSchema,
} from "../../shared/campaigns.ts";
import { database, schema } from "../../shared/db/client.ts";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import type { PurchaseMessage } from "../../shared/messages.ts";
import { currencyDigits, moneyJsonSchema, toMoneyJson } from "../../shared/money.ts";
import { isoUtcSchema, toIso } from "../../shared/time.ts";
import { boardStub } from "../../durable-objects/campaign-board/campaign-board.ts";
import { USER_ID_HEADER } from "../../durable-objects/campaign-board/live-feed.ts";
import { userStub } from "../../durable-objects/user/user.ts";
import { assertRole, assertSelfOrAdmin } from "../http/auth.ts";
import { rememberFirstAnswer } from "../http/idempotency.ts";
import { ApiError, unwrap } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, preserializedJson, problemResponses, upgradeResponse } from "../http/router.ts";
import { campaignJson, campaignsActiveAt, getCampaign, insertCampaign, markEnded, termsOf } from "./catalogue.ts";
import { putRates, ratesInForce } from "./exchange-rates.ts";
import { cachedTop, rememberTop } from "./top-cache.ts";

export const campaignRoutes = createRouter();

/** The seed's `headers` member: always empty. */
const seedHeaders = z.array(z.string()).meta({ description: "Always empty, as in the seed" });

const campaignIdParams = z.object({ campaignId: idParamSchema });
const campaignResponse = z.object({ campaign: campaignSchema });

campaignRoutes.openapi(
  createRoute({
    method: "post",
    path: "/campaigns",
    tags: ["campaigns"],
    summary: "Create a scoring campaign (admin)",
    security: bearer,
    request: { body: jsonBody(campaignInputSchema) },
    responses: { 201: jsonResponse(campaignResponse, "The campaign"), ...problemResponses },
  }),
  async (c) => {
    assertRole(c, "admin");
    const input = c.req.valid("json");
    const row = await insertCampaign(c.env.DB, {
      ...(input.campaignId !== undefined ? { campaignId: input.campaignId } : {}),
      itemId: input.itemId,
      prize: input.prize,
      startAt: input.startDateTime,
      endAt: input.endDateTime,
    });
    // Configuring is idempotent, so a resend after a failed call here completes the setup.
    unwrap(await boardStub(c.env, String(row.campaignId)).configure(termsOf(row)));
    return c.json({ campaign: campaignJson(row) }, 201);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/active",
    tags: ["campaigns"],
    summary: "Campaigns active at a moment (seed)",
    request: { query: z.object({ at: isoUtcSchema.optional() }) },
    responses: {
      200: jsonResponse(z.object({ headers: seedHeaders, campaigns: z.array(campaignSchema) }), "Active campaigns"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const at = c.req.valid("query").at ?? Date.now();
    const rows = await campaignsActiveAt(c.env.DB, at);
    return c.json({ headers: [], campaigns: rows.map((row) => campaignJson(row)) }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/{campaignId}",
    tags: ["campaigns"],
    summary: "One campaign with its current status",
    request: { params: campaignIdParams },
    responses: { 200: jsonResponse(campaignResponse, "The campaign"), ...problemResponses },
  }),
  async (c) => {
    const row = await getCampaign(c.env.DB, c.req.valid("param").campaignId);
    return c.json({ campaign: campaignJson(row) }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "post",
    path: "/campaigns/{campaignId}/end",
    tags: ["campaigns"],
    summary: "End a campaign now (admin); settlement follows after SETTLE_DELAY_SECONDS",
    security: bearer,
    request: { params: campaignIdParams },
    responses: { 200: jsonResponse(campaignResponse, "The campaign, ended"), ...problemResponses },
  }),
  async (c) => {
    assertRole(c, "admin");
    const { campaignId } = c.req.valid("param");
    await getCampaign(c.env.DB, campaignId);
    const now = Date.now();
    const row = await markEnded(c.env.DB, campaignId, now);
    unwrap(await boardStub(c.env, campaignId).endNow(effectiveEndAt(row)));
    return c.json({ campaign: campaignJson(row, now) }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "post",
    path: "/purchases",
    tags: ["campaigns"],
    summary: "Record a purchase; it is scored for every campaign it qualifies for",
    request: { body: jsonBody(purchaseInputSchema) },
    responses: { 202: jsonResponse(z.object({ purchaseId: z.string() }), "Accepted, durably queued"), ...problemResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const purchaseId = input.purchaseId ?? crypto.randomUUID();
    const payload = { userId: input.userId, itemId: input.itemId, amount: input.amount, timestamp: input.timestamp };
    const { answer } = await rememberFirstAnswer(c.env.DB, "purchase", purchaseId, payload, { purchaseId });
    // Sent again on a resend too: if the first send failed, the client's retry heals it, and
    // every consumer downstream counts a purchase id once.
    const message: PurchaseMessage = { kind: "purchase", purchaseId, ...payload };
    await c.env.PURCHASE_EVENTS.send(message);
    return c.json(answer, 202);
  },
);

const topResponseSchema = z.object({
  headers: seedHeaders,
  records: z.object({ campaignId: idJsonSchema, positions: z.array(positionSchema) }),
});

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/records/top/{n}/{campaignId}",
    tags: ["campaigns"],
    summary: "Top n positions of a campaign (seed); at most 250 ms behind the board",
    request: {
      params: z.object({
        n: z.coerce.number().int("must be a whole number").min(1).max(1000),
        campaignId: idParamSchema,
      }),
    },
    responses: {
      200: jsonResponse(topResponseSchema, "Positions, 0 = highest total"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { n, campaignId } = c.req.valid("param");
    let body = cachedTop(campaignId, n);
    if (body === undefined) {
      body = unwrap(await boardStub(c.env, campaignId).topBody(n));
      rememberTop(campaignId, n, body);
    }
    return preserializedJson<z.infer<typeof topResponseSchema>>(c, body);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/records/position/{campaignId}/{userId}",
    tags: ["campaigns"],
    summary: "A user's position in a campaign (seed); the user or an admin",
    security: bearer,
    request: { params: z.object({ campaignId: idParamSchema, userId: idParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ headers: seedHeaders, record: recordSchema }), "The record"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { campaignId, userId } = c.req.valid("param");
    assertSelfOrAdmin(c, userId);
    const record = unwrap(await boardStub(c.env, campaignId).position(userId));
    return c.json({ headers: [], record }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/records/live/{campaignId}",
    tags: ["campaigns"],
    summary: "Live leaderboard WebSocket: top 100 on connect and on change; own position with ?token=",
    request: { params: campaignIdParams, query: z.object({ token: z.string().optional() }) },
    responses: { 101: { description: "Switching to WebSocket" }, ...problemResponses },
  }),
  async (c) => {
    const { campaignId } = c.req.valid("param");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError("validation_failed", "this endpoint expects a WebSocket upgrade", {
        errors: [{ path: "header.upgrade", message: "must be websocket" }],
      });
    }
    const headers = new Headers(c.req.raw.headers);
    headers.delete(USER_ID_HEADER);
    const principal = c.get("principal");
    if (principal) headers.set(USER_ID_HEADER, principal.sub);
    const response = await boardStub(c.env, campaignId).fetch(new Request(c.req.raw.url, { headers }));
    if (response.status === 404) throw new ApiError("not_found", `no campaign ${campaignId}`);
    return upgradeResponse(c, response);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/{campaignId}/winner",
    tags: ["campaigns"],
    summary: "The settled winner; 404 before settlement (or when it settled with no purchases)",
    request: { params: campaignIdParams },
    responses: { 200: jsonResponse(z.object({ winner: winnerSchema }), "The winner"), ...problemResponses },
  }),
  async (c) => {
    const { campaignId } = c.req.valid("param");
    const campaign = await getCampaign(c.env.DB, campaignId);
    const [winner] = await database(c.env.DB)
      .select()
      .from(schema.campaignWinners)
      .where(eq(schema.campaignWinners.campaignId, Number(campaignId)));
    if (!winner) {
      const why = campaign.settledAt === null ? "is not settled yet" : "settled with no qualifying purchases";
      throw new ApiError("not_found", `campaign ${campaignId} ${why}`);
    }
    return c.json(
      {
        winner: {
          campaignId,
          userId: String(winner.userId),
          total: toMoneyJson({ minor: winner.totalMinor, currency: winner.currency }),
          prize: toMoneyJson({ minor: winner.prizeMinor, currency: winner.currency }),
          decidedAt: toIso(winner.decidedAt),
        },
      },
      200,
    );
  },
);

const ratesResponse = z
  .object({
    base: z.string(),
    at: z.string(),
    rates: z.record(z.string(), z.string()),
    effectiveFrom: z.record(z.string(), z.string()),
  })
  .meta({ id: "ExchangeRates" });

campaignRoutes.openapi(
  createRoute({
    method: "put",
    path: "/exchange-rates",
    tags: ["campaigns"],
    summary: "Store rates `1 base = rate quote` from effectiveFrom (admin)",
    security: bearer,
    request: { body: jsonBody(exchangeRatesInputSchema) },
    responses: {
      200: jsonResponse(z.object({ base: z.string(), rates: z.record(z.string(), z.string()), effectiveFrom: z.string() }), "Stored"),
      ...problemResponses,
    },
  }),
  async (c) => {
    assertRole(c, "admin");
    const input = c.req.valid("json");
    const unknown = [input.base, ...Object.keys(input.rates)].filter((code) => currencyDigits(code) === undefined);
    if (unknown.length > 0) {
      const errors = unknown.map((code) => ({ path: code === input.base ? "base" : `rates.${code}`, message: `unknown currency ${code}` }));
      throw new ApiError("unprocessable", `unknown currency ${unknown.join(", ")}`, { errors });
    }
    if (input.base in input.rates) {
      throw new ApiError("validation_failed", "a currency has no rate to itself", {
        errors: [{ path: `rates.${input.base}`, message: "must differ from base" }],
      });
    }
    await putRates(c.env.DB, input.base, input.rates, input.effectiveFrom);
    return c.json({ base: input.base, rates: input.rates, effectiveFrom: toIso(input.effectiveFrom) }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/exchange-rates",
    tags: ["campaigns"],
    summary: "The rates of a base currency in force at a moment",
    request: {
      query: z.object({
        base: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
        at: isoUtcSchema.optional(),
      }),
    },
    responses: { 200: jsonResponse(ratesResponse, "Rates in force"), ...problemResponses },
  }),
  async (c) => {
    const { base, at = Date.now() } = c.req.valid("query");
    const rows = await ratesInForce(c.env.DB, base, at);
    return c.json(
      {
        base,
        at: toIso(at),
        rates: Object.fromEntries(rows.map((row) => [row.quote, row.rate])),
        effectiveFrom: Object.fromEntries(rows.map((row) => [row.quote, toIso(row.effectiveFrom)])),
      },
      200,
    );
  },
);

const walletSchema = z
  .object({
    userId: idJsonSchema,
    points: z.number().int(),
    money: z.array(moneyJsonSchema),
    entries: z.array(
      z.object({ ref: z.string(), points: z.number().int(), money: moneyJsonSchema.nullable(), reason: z.string(), createdAt: z.string() }),
    ),
  })
  .meta({ id: "Wallet" });

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/users/{userId}/wallet",
    tags: ["wallet"],
    summary: "Points and prize money, with the latest entries first (the user or an admin)",
    security: bearer,
    request: {
      params: z.object({ userId: idParamSchema }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    },
    responses: { 200: jsonResponse(walletSchema, "The wallet"), ...problemResponses },
  }),
  async (c) => {
    const { userId } = c.req.valid("param");
    assertSelfOrAdmin(c, userId);
    const view = await userStub(c.env, userId).walletView(c.req.valid("query").limit);
    return c.json({ userId, ...view }, 200);
  },
);
