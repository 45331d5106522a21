import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt, gte, isNull, lte, or } from "drizzle-orm";
import type { TypedResponse } from "hono";
import Papa from "papaparse";
import { z } from "zod";
import { adCampaignStub } from "../../durable-objects/ad-campaign/stub.ts";
import { initialStatus, type AdCampaignDefinition, type AdCampaignStatus } from "../../durable-objects/ad-campaign/budget.ts";
import { definitionFromD1 } from "../../durable-objects/ad-campaign/rows.ts";
import { adCampaignJson } from "../../durable-objects/ad-campaign/views.ts";
import { database, schema } from "../../shared/db/client.ts";
import { idParamSchema } from "../../shared/ids.ts";
import { toMoneyJson } from "../../shared/money.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { requireRole } from "../http/auth.ts";
import { ApiError, unwrap } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { billingMessage } from "./billing.ts";
import { serveAds } from "./serving.ts";
import {
  activeQuerySchema,
  adCampaignPatchSchema,
  adCampaignSchema,
  adCampaignViewSchema,
  adEventAnswerSchema,
  adEventSchema,
  billingQuerySchema,
  billingSchema,
  newAdCampaignSchema,
  performanceQuerySchema,
  performanceSchema,
  servedAdsSchema,
  serveQuerySchema,
  type NewAdCampaign,
} from "./schemas.ts";

/** Ad campaigns and the events they are charged for, mounted at `/ads`. */
export const adRoutes = createRouter();

// Authorization runs as route middleware, before validation, so a caller without the right token
// learns nothing about what a valid request would be.
const adminOnly = requireRole("admin");

const idParams = z.object({ id: idParamSchema });

const viewResponses = {
  200: jsonResponse(z.object({ adCampaign: adCampaignViewSchema }), "The campaign with its live status and spend"),
  ...problemResponses,
};

adRoutes.openapi(
  createRoute({
    method: "post",
    path: "/campaigns",
    operationId: "createAdCampaign",
    tags: ["ads"],
    summary: "Define an ad campaign",
    description:
      "Budgets and cpc share one currency. With a client-chosen `adCampaignId`, sending the same campaign again returns it; " +
      "other terms under that id are 409. The status starts as `scheduled`, `active` or (for a past end) `ended`.",
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newAdCampaignSchema) },
    responses: {
      201: jsonResponse(z.object({ adCampaign: adCampaignSchema }), "The campaign"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const definition = await storeDefinition(c.env.DB, c.req.valid("json"), Date.now());
    const adCampaign = unwrap(await adCampaignStub(c.env, definition.adCampaignId).configure(definition));
    return c.json({ adCampaign }, 201);
  },
);

// Declared before `/campaigns/{id}` so that "active" is not read as an id.
adRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/active",
    operationId: "getActiveAdCampaigns",
    tags: ["ads"],
    summary: "Ad campaigns that may be served now",
    description: "Status `active` and inside the schedule, by adCampaignId. A campaign leaves this list the moment a budget runs out.",
    security: [],
    request: { query: activeQuerySchema },
    responses: {
      200: jsonResponse(z.object({ adCampaigns: z.array(adCampaignSchema) }), "Servable campaigns"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { limit } = c.req.valid("query");
    const now = Date.now();
    const table = schema.adCampaigns;
    const found = await database(c.env.DB)
      .select()
      .from(table)
      .where(and(eq(table.status, "active"), lte(table.startAt, now), or(isNull(table.endAt), gt(table.endAt, now))))
      .orderBy(asc(table.adCampaignId))
      .limit(limit);
    const adCampaigns = found.map((row) => adCampaignJson(definitionFromD1(row), row.status as AdCampaignStatus));
    return c.json({ adCampaigns }, 200);
  },
);

adRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/{id}",
    operationId: "getAdCampaign",
    tags: ["ads"],
    summary: "An ad campaign with its live status and spend",
    security: [],
    request: { params: idParams },
    responses: viewResponses,
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await requireKnownAdCampaign(c.env.DB, id);
    const adCampaign = unwrap(await adCampaignStub(c.env, id).view());
    return c.json({ adCampaign }, 200);
  },
);

for (const action of ["pause", "resume"] as const) {
  adRoutes.openapi(
    createRoute({
      method: "post",
      path: `/campaigns/{id}/${action}`,
      operationId: `${action}AdCampaign`,
      tags: ["ads"],
      summary: action === "pause" ? "Stop charging and serving until resumed" : "Serve again after a pause",
      description: "Repeating it changes nothing; an `ended` or `exhausted` campaign is 409.",
      security: bearer,
      middleware: [adminOnly],
      request: { params: idParams },
      responses: viewResponses,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireKnownAdCampaign(c.env.DB, id);
    const adCampaign = unwrap(await adCampaignStub(c.env, id).setPaused(action === "pause"));
      return c.json({ adCampaign }, 200);
    },
  );
}

adRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/campaigns/{id}",
    operationId: "updateAdCampaign",
    tags: ["ads"],
    summary: "Edit an ad campaign's terms",
    description:
      "Any of `name`, `cpc`, `dailyBudget` (null removes it), `totalBudget`, `endDateTime` (null removes it), `frequencyCap` " +
      "(null removes it), `pacing`. The edit applies from the next event on, in the same single step that charges clicks, so no " +
      "click is charged under a mix of old and new terms. A budget lowered below what is spent makes the campaign " +
      "`exhausted_today`/`exhausted` at once; a raised one brings it back to `active`. Money must be in the campaign's currency " +
      "(422); `even` pacing needs a daily budget (422). An `ended` (stopped) campaign is 409.",
    security: bearer,
    middleware: [adminOnly],
    request: { params: idParams, body: jsonBody(adCampaignPatchSchema) },
    responses: viewResponses,
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { endDateTime, frequencyCap, ...rest } = c.req.valid("json");
    await requireKnownAdCampaign(c.env.DB, id);
    const adCampaign = unwrap(
      await adCampaignStub(c.env, id).update({
        ...rest,
        ...(endDateTime !== undefined ? { endAt: endDateTime } : {}),
        ...(frequencyCap !== undefined ? { frequencyCap: frequencyCap?.impressionsPerUserPerDay ?? null } : {}),
      }),
    );
    return c.json({ adCampaign }, 200);
  },
);

adRoutes.openapi(
  createRoute({
    method: "post",
    path: "/campaigns/{id}/stop",
    operationId: "stopAdCampaign",
    tags: ["ads"],
    summary: "End an ad campaign now, for good",
    description:
      "The status becomes `ended` and `endDateTime` this moment. Later clicks are recorded, never charged (`reason: \"inactive\"`); " +
      "`PATCH` and `resume` answer 409. Stopping again changes nothing.",
    security: bearer,
    middleware: [adminOnly],
    request: { params: idParams },
    responses: viewResponses,
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await requireKnownAdCampaign(c.env.DB, id);
    const adCampaign = unwrap(await adCampaignStub(c.env, id).stop());
    return c.json({ adCampaign }, 200);
  },
);

adRoutes.openapi(
  createRoute({
    method: "get",
    path: "/serve",
    operationId: "serveAds",
    tags: ["ads"],
    summary: "Ad campaigns that may be shown to a user now (service or admin)",
    description:
      "Up to `slots` (1..10, default 1) campaigns, highest cpc first (ties by id): active with budget left, fewer than " +
      "`frequencyCap.impressionsPerUserPerDay` impressions of this user today (UTC day on which Tally received each impression), and with " +
      "`even` pacing, spent today at most dailyBudget × (share of the UTC day elapsed) + cpc. Read from D1's catalogue, which " +
      "each campaign updates before a charged click, an edit or a status change answers, plus the user's own object. Changes nothing.",
    security: bearer,
    middleware: [requireRole("service", "admin")],
    request: { query: serveQuerySchema },
    responses: {
      200: jsonResponse(servedAdsSchema, "The campaigns to show, best first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { userId, slots } = c.req.valid("query");
    return c.json({ ads: await serveAds(c.env, userId, slots, Date.now()) }, 200);
  },
);

adRoutes.openapi(
  createRoute({
    method: "get",
    path: "/billing",
    operationId: "listAdBilling",
    tags: ["ads"],
    summary: "Closed billing days per ad campaign (admin)",
    description:
      "One row per campaign and closed UTC day with activity, `from` to `to` inclusive (at most 92 days), by date then " +
      "adCampaignId. A day is closed by the daily job after it ends (figures: events that arrived that day). With " +
      "`Accept: text/csv` the same rows as CSV, spend as `spend` and `currency` columns. Today's running figures are in " +
      "`GET /ads/campaigns/{id}`.",
    security: bearer,
    middleware: [adminOnly],
    request: { query: billingQuerySchema },
    responses: {
      200: {
        description: "The closed days",
        content: {
          "application/json": { schema: billingSchema },
          "text/csv": { schema: z.string().meta({ example: "date,adCampaignId,advertiserId,impressions,clicks,chargedClicks,spend,currency" }) },
        },
      },
      ...problemResponses,
    },
  }),
  async (c) => {
    const { from, to } = c.req.valid("query");
    const table = schema.adBillingDays;
    const found = await database(c.env.DB)
      .select()
      .from(table)
      .where(and(gte(table.date, from), lte(table.date, to)))
      .orderBy(asc(table.date), asc(table.adCampaignId));
    const days = found.map(billingMessage).map(({ kind: _kind, dedupeKey: _key, spend, ...row }) => ({ ...row, spend: toMoneyJson(spend) }));
    if ((c.req.header("accept") ?? "").includes("text/csv")) {
      const columns = ["date", "adCampaignId", "advertiserId", "impressions", "clicks", "chargedClicks", "spend", "currency"];
      // fields + data rows, so the header is written even when no day matches.
      const csv = Papa.unparse(
        {
          fields: columns,
          data: days.map((d) => [d.date, d.adCampaignId, d.advertiserId, d.impressions, d.clicks, d.chargedClicks, d.spend.value, d.spend.currency]),
        },
        { newline: "\r\n" },
      );
      return c.body(`${csv}\r\n`, 200, { "content-type": "text/csv; charset=utf-8" }) as unknown as TypedResponse<{ days: typeof days }, 200, "json">;
    }
    return c.json({ days }, 200);
  },
);

adRoutes.openapi(
  createRoute({
    method: "post",
    path: "/events",
    operationId: "createAdEvent",
    tags: ["ads"],
    summary: "Record an impression, view or click; a click may be charged (service or admin)",
    description:
      "A click on an active campaign is charged min(cpc, remainingToday, remainingTotal). Not charged, with `reason`: " +
      "`duplicate_click` (a charged click of the same userId, else ip, less than 30 s away in event time), " +
      "`inactive` (scheduled, paused, ended) or `budget_exhausted`. A resent eventId returns the first answer. " +
      "Needs a `service` or `admin` token: anonymous clients cannot click.",
    security: bearer,
    middleware: [requireRole("service", "admin")],
    request: { body: jsonBody(adEventSchema) },
    responses: {
      202: jsonResponse(adEventAnswerSchema, "Recorded"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const event = c.req.valid("json");
    const eventId = event.eventId ?? crypto.randomUUID();
    await requireKnownAdCampaign(c.env.DB, event.adCampaignId);
    const answer = unwrap(
      await adCampaignStub(c.env, event.adCampaignId).record({
        eventId,
        type: event.type,
        userId: event.userId ?? null,
        ip: event.ip ?? null,
        timestamp: event.timestamp,
      }),
    );
    // The campaign's object also counts an impression for the user's frequency cap, through its
    // outbox, before it answers (or, after a failure, from its alarm).
    return c.json(answer, 202);
  },
);

adRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns/{id}/performance",
    operationId: "getAdCampaignPerformance",
    tags: ["ads"],
    summary: "Performance by minute, hour or day of event time",
    description:
      "Buckets are aligned to UTC and zero-filled; a bucket cut by the range starts at `from`. A range covers at most 31 days " +
      "at `minute` and 366 days at `hour` or `day` (400 beyond); it is summed per bucket in the campaign's SQLite. " +
      "`clicks` counts every recorded click; `chargedClicks` and `spend` only the charged ones.",
    security: [],
    request: { params: idParams, query: performanceQuerySchema },
    responses: {
      200: jsonResponse(performanceSchema, "Totals and buckets, oldest first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { time_range: range, granularity } = c.req.valid("query");
    await requireKnownAdCampaign(c.env.DB, id);
    const report = unwrap(
      await adCampaignStub(c.env, id).performance({ from: range.from, to: range.to, granularity }),
    );
    return c.json(report, 200);
  },
);

/**
 * Ad campaign ids this isolate has seen in D1's catalogue. Campaigns are never deleted, so a hit
 * stays true: each isolate reads D1 at most once per known campaign.
 */
const knownAdCampaigns = new Set<string>();

/**
 * Answers 404 for an id D1's catalogue does not hold, before its object is touched: a request
 * naming an unknown id (a typo, a probe) must not create and store a Durable Object.
 */
async function requireKnownAdCampaign(d1: D1Database, adCampaignId: string): Promise<void> {
  if (knownAdCampaigns.has(adCampaignId)) return;
  const [row] = await database(d1)
    .select({ adCampaignId: schema.adCampaigns.adCampaignId })
    .from(schema.adCampaigns)
    .where(eq(schema.adCampaigns.adCampaignId, Number(adCampaignId)));
  if (!row) throw new ApiError("not_found", `no ad campaign ${adCampaignId}`);
  knownAdCampaigns.add(adCampaignId);
}

/**
 * Writes a new campaign's D1 row, or finds the one a resend of the same campaign wrote. Its
 * status is what the object will decide too; the object owns it from then on.
 */
async function storeDefinition(d1: D1Database, input: NewAdCampaign, now: number): Promise<AdCampaignDefinition> {
  const db = database(d1);
  const table = schema.adCampaigns;
  const terms: Omit<AdCampaignDefinition, "adCampaignId"> = {
    advertiserId: input.advertiserId,
    name: input.name,
    currency: input.cpc.currency,
    cpcMinor: input.cpc.minor,
    dailyBudgetMinor: input.dailyBudget?.minor ?? null,
    totalBudgetMinor: input.totalBudget.minor,
    startAt: input.startDateTime,
    endAt: input.endDateTime ?? null,
    createdAt: now,
    frequencyCap: input.frequencyCap?.impressionsPerUserPerDay ?? null,
    pacing: input.pacing,
  };
  const status = initialStatus({ adCampaignId: input.adCampaignId ?? "", ...terms }, now);
  const values = { ...terms, advertiserId: Number(terms.advertiserId), status, statusChangedAt: now };
  if (input.adCampaignId === undefined) {
    const [row] = await db.insert(table).values(values).returning();
    return definitionFromD1(row!);
  }
  const [inserted] = await db
    .insert(table)
    .values({ adCampaignId: Number(input.adCampaignId), ...values })
    .onConflictDoNothing()
    .returning();
  if (inserted) return definitionFromD1(inserted);
  const [existing] = await db.select().from(table).where(eq(table.adCampaignId, Number(input.adCampaignId)));
  if (!existing) throw new ApiError("unavailable", "the ad campaign vanished while being created; retry");
  const stored = definitionFromD1(existing);
  // The creation time is not a term: a resend made later is still the same campaign.
  if (!sameTerms({ ...stored, createdAt: undefined }, { ...terms, adCampaignId: stored.adCampaignId, createdAt: undefined })) {
    throw new ApiError("idempotency_conflict", `ad campaign ${input.adCampaignId} already exists with other terms`);
  }
  return stored;
}
