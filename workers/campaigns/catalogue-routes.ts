import { createRoute } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { campaignInputSchema, campaignPatchSchema, campaignSchema, effectiveEndAt, termsOf, winnerSchema, winnersSchema } from "../../shared/campaigns.ts";
import { database, schema } from "../../shared/db/client.ts";
import { idParamSchema } from "../../shared/ids.ts";
import { toMoneyJson } from "../../shared/money.ts";
import { isoUtcSchema, toIso } from "../../shared/time.ts";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import { requireRole } from "../http/auth.ts";
import { ApiError, unwrap } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { displayNamesOf } from "../../shared/display-names.ts";
import { campaignJson, campaignsActiveAt, editCampaign, getCampaign, insertCampaign, markEnded } from "./catalogue.ts";

/** The scoring campaigns catalogue, mounted at `/campaigns`. */
export const campaignRoutes = createRouter();

/** The seed's `headers` member: always empty. */
export const seedHeaders = z.array(z.string()).meta({ description: "Always empty, as in the seed" });

/** `{campaignId}` in a path. */
export const campaignIdParams = z.object({ campaignId: idParamSchema });
const campaignResponse = z.object({ campaign: campaignSchema });
const adminOnly = requireRole("admin");

campaignRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createCampaign",
    tags: ["campaigns"],
    summary: "Create a scoring campaign (admin)",
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(campaignInputSchema) },
    responses: { 201: jsonResponse(campaignResponse, "The campaign"), ...problemResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const row = await insertCampaign(c.env.DB, {
      ...(input.campaignId !== undefined ? { campaignId: input.campaignId } : {}),
      itemId: input.itemId,
      prize: input.prize,
      ...(input.prizes !== undefined ? { prizes: input.prizes } : {}),
      startAt: input.startDateTime,
      endAt: input.endDateTime,
    });
    // Configuring is idempotent, so a resend after a failed call here completes the setup.
    unwrap(await boardStub(c.env, String(row.campaignId)).configure(termsOf(row)));
    return c.json({ campaign: campaignJson(row) }, 201);
  },
);

// Declared before `/{campaignId}` so that "active" is not read as an id.
campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/active",
    operationId: "getActiveCampaigns",
    tags: ["campaigns"],
    summary: "Campaigns active at a moment (seed)",
    security: [],
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
    path: "/{campaignId}",
    operationId: "getCampaign",
    tags: ["campaigns"],
    summary: "One campaign with its current status",
    security: [],
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
    method: "patch",
    path: "/{campaignId}",
    tags: ["campaigns"],
    operationId: "updateCampaign",
    summary: "Edit a campaign (admin): prize, prizes, endDateTime until it ends; itemId, startDateTime while scheduled",
    description:
      "409 for an edit its status does not allow. An end moved re-arms the lifecycle alarm; an item or start changed " +
      "while scheduled applies to the next purchase qualified. The prize's currency stays the campaign's.",
    security: bearer,
    middleware: [adminOnly],
    request: { params: campaignIdParams, body: jsonBody(campaignPatchSchema) },
    responses: { 200: jsonResponse(campaignResponse, "The campaign as edited"), ...problemResponses },
  }),
  async (c) => {
    const { campaignId } = c.req.valid("param");
    const patch = c.req.valid("json");
    const now = Date.now();
    const row = await editCampaign(
      c.env.DB,
      await getCampaign(c.env.DB, campaignId),
      {
        ...(patch.itemId !== undefined ? { itemId: patch.itemId } : {}),
        ...(patch.prize !== undefined ? { prize: patch.prize } : {}),
        ...(patch.prizes !== undefined ? { prizes: patch.prizes } : {}),
        ...(patch.startDateTime !== undefined ? { startAt: patch.startDateTime } : {}),
        ...(patch.endDateTime !== undefined ? { endAt: patch.endDateTime } : {}),
      },
      now,
    );
    unwrap(await boardStub(c.env, campaignId).updateTerms(termsOf(row)));
    return c.json({ campaign: campaignJson(row, now) }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{campaignId}/end",
    operationId: "endCampaign",
    tags: ["campaigns"],
    summary: "End a campaign now (admin); settlement follows after SETTLE_DELAY_SECONDS",
    security: bearer,
    middleware: [adminOnly],
    request: { params: campaignIdParams },
    responses: { 200: jsonResponse(campaignResponse, "The campaign, ended"), ...problemResponses },
  }),
  async (c) => {
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
    method: "get",
    path: "/{campaignId}/winner",
    operationId: "getCampaignWinner",
    tags: ["campaigns"],
    summary: "The settled winner; 404 before settlement (or when it settled with no purchases)",
    security: [],
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
      // Contact heals a board whose configure never arrived (it loads its terms from D1 and arms
      // its alarm), so even a campaign nobody bought in settles once someone asks for its winner.
      if (campaign.settledAt === null) unwrap(await boardStub(c.env, campaignId).state());
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

campaignRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{campaignId}/winners",
    tags: ["campaigns"],
    operationId: "getCampaignWinners",
    summary: "Every paid position of a settled campaign (0 and each prize tier's); 404 before settlement",
    security: [],
    request: { params: campaignIdParams },
    responses: { 200: jsonResponse(winnersSchema, "The winners, by position"), ...problemResponses },
  }),
  async (c) => {
    const { campaignId } = c.req.valid("param");
    const campaign = await getCampaign(c.env.DB, campaignId);
    if (campaign.settledAt === null) throw new ApiError("not_found", `campaign ${campaignId} is not settled yet`);
    const placings = await database(c.env.DB)
      .select()
      .from(schema.campaignPlacings)
      .where(eq(schema.campaignPlacings.campaignId, Number(campaignId)))
      .orderBy(asc(schema.campaignPlacings.position));
    const names = await displayNamesOf(c.env.DB, placings.map((p) => String(p.userId)));
    return c.json(
      {
        campaignId,
        decidedAt: toIso(placings[0]?.decidedAt ?? campaign.settledAt),
        winners: placings.map((p) => ({
          position: p.position,
          userId: String(p.userId),
          displayName: names.get(String(p.userId)) ?? null,
          total: toMoneyJson({ minor: p.totalMinor, currency: p.currency }),
          prize: toMoneyJson({ minor: p.prizeMinor, currency: p.currency }),
        })),
      },
      200,
    );
  },
);
