import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { positionSchema, purchaseInputSchema, recordSchema } from "../../shared/campaigns.ts";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import type { PurchaseMessage } from "../../shared/messages.ts";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import { CLIENT_ADDRESS_HEADER, USER_ID_HEADER, liveSocketsPerIp } from "../../durable-objects/campaign-board/live-feed.ts";
import { requireRole } from "../http/auth.ts";
import { waitUntilOf } from "../http/env.ts";
import { requireSelfOrAdmin } from "../http/guards.ts";
import { admitEventId } from "../http/idempotency.ts";
import { clientAddress } from "../http/rate-limit.ts";
import { ApiError, problemResponse, unwrap } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, preserializedJson, problemResponses, problemSchema, upgradeResponse } from "../http/router.ts";
import { sendCoalesced } from "../queue-kit.ts";
import { campaignIdParams, seedHeaders } from "./catalogue-routes.ts";
import { cachedTop, rememberTop } from "./top-cache.ts";

/** What a refused live socket is told to wait: sockets close at the client's pace, so a short while. */
const LIVE_RETRY_AFTER_SECONDS = 10;

/** Purchases coming in to be scored, mounted at `/purchases`. */
export const purchaseRoutes = createRouter();

/** The leaderboards the purchases build, mounted at `/records`. */
export const recordRoutes = createRouter();

purchaseRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createPurchase",
    tags: ["campaigns"],
    summary: "Record a purchase; it is scored for every campaign it qualifies for (service or admin)",
    description:
      "Needs a `service` or `admin` token: anonymous clients cannot score. Idempotent on `purchaseId` (assigned when " +
      "missing): the same id and payload answers the same, a different payload is 409.",
    security: bearer,
    middleware: [requireRole("service", "admin")],
    request: { body: jsonBody(purchaseInputSchema) },
    responses: { 202: jsonResponse(z.object({ purchaseId: z.string() }), "Accepted, durably queued"), ...problemResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const purchaseId = input.purchaseId ?? crypto.randomUUID();
    const payload = { userId: input.userId, itemId: input.itemId, amount: input.amount, timestamp: input.timestamp };
    // Kept for good, as the boards keep every purchase id: a reused id with new terms is 409, never
    // a 202 that a board then drops as a duplicate.
    await admitEventId(c.env, "purchase", purchaseId, payload);
    // Sent again on a resend too: if the first send failed, the client's retry heals it, and
    // every consumer downstream counts a purchase id once.
    const message: PurchaseMessage = { kind: "purchase", purchaseId, ...payload, httpRequestId: c.get("requestId") };
    await sendCoalesced(c.env.PURCHASE_EVENTS, message, waitUntilOf(c));
    return c.json({ purchaseId }, 202);
  },
);

const topResponseSchema = z.object({
  headers: seedHeaders,
  records: z.object({ campaignId: idJsonSchema, positions: z.array(positionSchema) }),
});

recordRoutes.openapi(
  createRoute({
    method: "get",
    path: "/top/{n}/{campaignId}",
    operationId: "getTopRecords",
    tags: ["campaigns"],
    summary: "Top n positions of a campaign (seed); at most 250 ms behind the board",
    security: [],
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

recordRoutes.openapi(
  createRoute({
    method: "get",
    path: "/position/{campaignId}/{userId}",
    operationId: "getPosition",
    tags: ["campaigns"],
    summary: "A user's position in a campaign (seed); the user or an admin",
    security: bearer,
    middleware: [requireSelfOrAdmin()],
    request: { params: z.object({ campaignId: idParamSchema, userId: idParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ headers: seedHeaders, record: recordSchema }), "The record"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { campaignId, userId } = c.req.valid("param");
    const record = unwrap(await boardStub(c.env, campaignId).position(userId));
    return c.json({ headers: [], record }, 200);
  },
);

recordRoutes.openapi(
  createRoute({
    method: "get",
    path: "/around/{campaignId}/{userId}",
    tags: ["campaigns"],
    operationId: "getAroundRecords",
    summary: "Up to `span` positions above and below a user's, the user's included (the user or an admin)",
    security: bearer,
    middleware: [requireSelfOrAdmin()],
    request: {
      params: z.object({ campaignId: idParamSchema, userId: idParamSchema }),
      query: z.object({ span: z.coerce.number().int("must be a whole number").min(1).max(50).default(5) }),
    },
    responses: {
      200: jsonResponse(topResponseSchema, "Positions around the user's, in ranking order"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { campaignId, userId } = c.req.valid("param");
    const records = unwrap(await boardStub(c.env, campaignId).around(userId, c.req.valid("query").span));
    return c.json({ headers: [], records }, 200);
  },
);

recordRoutes.openapi(
  createRoute({
    method: "get",
    path: "/live/{campaignId}",
    operationId: "openLiveLeaderboard",
    tags: ["campaigns"],
    summary: "Live leaderboard WebSocket: top 100 on connect and on change; own position with ?token=",
    security: [],
    request: { params: campaignIdParams, query: z.object({ token: z.string().optional() }) },
    responses: {
      101: { description: "Switching Protocols: the WebSocket is open; its messages are described in docs/sockets.md" },
      ...problemResponses,
      429: {
        description: "The caller's address already holds LIVE_SOCKETS_PER_IP open sockets on this campaign",
        content: { "application/problem+json": { schema: problemSchema } },
      },
    },
  }),
  async (c) => {
    const { campaignId } = c.req.valid("param");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError("validation_failed", "this endpoint expects a WebSocket upgrade", {
        errors: [{ path: "header.upgrade", message: "must be websocket" }],
      });
    }
    // A request built afresh: the board learns the caller only from what is set here.
    const headers = new Headers({ upgrade: "websocket", [CLIENT_ADDRESS_HEADER]: clientAddress(c) });
    const principal = c.get("principal");
    if (principal) headers.set(USER_ID_HEADER, principal.sub);
    const response = await boardStub(c.env, campaignId).fetch(new Request(c.req.raw.url, { headers }));
    if (response.status === 404) throw new ApiError("not_found", `no campaign ${campaignId}`);
    if (response.status === 429) {
      const detail = `at most ${liveSocketsPerIp(c.env.LIVE_SOCKETS_PER_IP)} open live sockets per client address per campaign; close one or retry later`;
      return problemResponse(c, new ApiError("rate_limited", detail), { "retry-after": String(LIVE_RETRY_AFTER_SECONDS) });
    }
    return upgradeResponse(c, response);
  },
);
