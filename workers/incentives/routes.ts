import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { userStub } from "../../durable-objects/user/stub.ts";
import { cursorSchema } from "../../shared/cursor.ts";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import type { IncentiveEventMessage } from "../../shared/messages.ts";
import { DAY_MS } from "../../shared/time.ts";
import { requireRole } from "../http/auth.ts";
import { waitUntilOf } from "../http/env.ts";
import { requireEmployerOrAdmin, requireSelfOrAdmin } from "../http/guards.ts";
import { admitEventId } from "../http/idempotency.ts";
import { ApiError } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { sendCoalesced } from "../queue-kit.ts";
import {
  awardPositionSchema,
  awardSchema,
  employerIncentiveLinkSchema,
  employerIncentiveSchema,
  eventNameSchema,
  incentiveEventSchema,
  incentivePatchSchema,
  incentiveSchema,
  newIncentiveSchema,
  type ProgressJson,
  progressPositionSchema,
  progressSchema,
  streakSchema,
} from "./schemas.ts";
import { queueHistoryEvaluation } from "./consumers.ts";
import { listAwards } from "./awards.ts";
import { createIncentive, detachIncentive, linkIncentive, listEmployerIncentives, listIncentives, updateIncentive } from "./catalogue.ts";
import { progressPage } from "./progress.ts";

/** The incentive catalogue and the events that earn them, mounted at `/incentives`. */
export const incentiveRoutes = createRouter();

/** What an employer attached and awarded, mounted at `/employers`. */
export const employerIncentiveRoutes = createRouter();

/** A user's streaks and awards, mounted at `/users`. */
export const userIncentiveRoutes = createRouter();

/** How far ahead of the server's clock an event may be dated; more is a client clock gone wrong. */
const MAX_FUTURE_MS = DAY_MS;
/**
 * How long an incentive event id is remembered: a reuse later than this is a new event. Honest
 * either way, since a user's streak is a set of days that an event adds to at most once.
 */
export const INCENTIVE_EVENT_ID_RETENTION_MS = 30 * DAY_MS;

const limitQuery = z.coerce.number().int().min(1).max(1000).default(100);
/** A progress page asks one User object per user on it: at most 100 rows. */
const progressLimitQuery = z.coerce.number().int().min(1).max(100).default(100);
const awardsCursor = cursorSchema(awardPositionSchema).optional();
const progressCursor = cursorSchema(progressPositionSchema).optional();

// Authorization runs as route middleware, before validation (see ../http/guards.ts).
const adminOnly = requireRole("admin");
const employerOrAdmin = requireEmployerOrAdmin();
const selfOrAdmin = requireSelfOrAdmin();

incentiveRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createIncentive",
    tags: ["incentives"],
    summary: "Add an incentive to the global catalogue",
    description: "With a client-chosen `incentiveId`, sending the same incentive again returns it; different content is 409.",
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newIncentiveSchema) },
    responses: {
      201: jsonResponse(z.object({ incentive: incentiveSchema }), "The incentive"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const incentive = await createIncentive(c.env.DB, c.req.valid("json"));
    return c.json({ incentive }, 201);
  },
);

incentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listIncentives",
    tags: ["incentives"],
    summary: "The incentive catalogue",
    security: [],
    request: {
      query: z.object({
        active: z.enum(["true", "false"]).optional(),
        event: eventNameSchema.optional(),
      }),
    },
    responses: {
      200: jsonResponse(z.object({ incentives: z.array(incentiveSchema) }), "Incentives by id"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const incentives = await listIncentives(c.env.DB, {
      ...(query.active === undefined ? {} : { active: query.active === "true" }),
      ...(query.event === undefined ? {} : { event: query.event }),
    });
    return c.json({ incentives }, 200);
  },
);

incentiveRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{incentiveId}",
    operationId: "updateIncentive",
    tags: ["incentives"],
    summary: "Change a catalogue incentive: name, description, active, or its rule's numbers (admin)",
    description:
      "`rule` keeps its `kind` and `event` (422 naming the field otherwise) and carries only its kind's fields " +
      "(`days`; `times` and `withinDays`; 422 naming any other). After a rule change (or a reinstatement) every user with " +
      "history for the event under an employer the incentive is attached to is evaluated against it within 60 s; awards " +
      "already made stay. An inactive incentive earns nothing new and cannot be attached to more programs; existing " +
      "links stay listed.",
    security: bearer,
    middleware: [adminOnly],
    request: {
      params: z.object({ incentiveId: idParamSchema }),
      body: jsonBody(incentivePatchSchema),
    },
    responses: {
      200: jsonResponse(z.object({ incentive: incentiveSchema }), "The incentive"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { incentiveId } = c.req.valid("param");
    const patch = c.req.valid("json");
    const { incentive, employerIds } = await updateIncentive(c.env.DB, incentiveId, patch);
    // Sent on a repeated PATCH too: a send that failed after the update is healed by the retry,
    // and an evaluation awards nothing twice.
    if (incentive.active && (patch.rule !== undefined || patch.active === true)) {
      await queueHistoryEvaluation(c.env, employerIds, incentive.rule.event);
    }
    return c.json({ incentive }, 200);
  },
);

employerIncentiveRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{employerId}/programs/{programId}/incentives",
    operationId: "attachProgramIncentive",
    tags: ["incentives"],
    summary: "Attach a catalogue incentive to one of the employer's programs, with its reward",
    description:
      "Attaching the same incentive to the same program again returns the first link if the reward is the same " +
      "(409 if it differs). An unknown or inactive incentive is 422.",
    security: bearer,
    middleware: [employerOrAdmin],
    request: {
      params: z.object({ employerId: idParamSchema, programId: idParamSchema }),
      body: jsonBody(employerIncentiveLinkSchema),
    },
    responses: {
      201: jsonResponse(z.object({ employerIncentive: employerIncentiveSchema }), "The employer incentive"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { employerId, programId } = c.req.valid("param");
    const body = c.req.valid("json");
    const employerIncentive = await linkIncentive(c.env.DB, {
      employerId,
      programId,
      incentiveId: body.incentiveId,
      reward: body.reward,
      countFrom: body.countFrom,
      shareWithWebhooks: body.shareWithWebhooks,
      ...(body.employerIncentiveId === undefined ? {} : { employerIncentiveId: body.employerIncentiveId }),
    });
    const { event, ...link } = employerIncentive;
    // Users whose stored days already satisfy it are awarded now, not at their next event.
    if (body.countFrom === "history") await queueHistoryEvaluation(c.env, [employerId], event);
    return c.json({ employerIncentive: link }, 201);
  },
);

employerIncentiveRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{employerId}/programs/{programId}/incentives/{employerIncentiveId}",
    tags: ["incentives"],
    operationId: "detachEmployerIncentive",
    summary: "Detach an incentive from a program: no new awards from it, awards made stay",
    security: bearer,
    middleware: [employerOrAdmin],
    request: { params: z.object({ employerId: idParamSchema, programId: idParamSchema, employerIncentiveId: idParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ employerIncentive: employerIncentiveSchema }), "The employer incentive, with detachedAt"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const employerIncentive = await detachIncentive(c.env.DB, c.req.valid("param"));
    return c.json({ employerIncentive }, 200);
  },
);

employerIncentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{employerId}/incentives",
    operationId: "listEmployerIncentives",
    tags: ["incentives"],
    summary: "The incentives an employer attached to its programs",
    security: bearer,
    middleware: [employerOrAdmin],
    request: {
      params: z.object({ employerId: idParamSchema }),
      query: z.object({ programId: idParamSchema.optional() }),
    },
    responses: {
      200: jsonResponse(
        z.object({
          employerId: idJsonSchema,
          employerIncentives: z.array(employerIncentiveSchema.extend({ incentive: incentiveSchema })),
        }),
        "By program, then id",
      ),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { employerId } = c.req.valid("param");
    const { programId } = c.req.valid("query");
    const employerIncentives = await listEmployerIncentives(c.env.DB, employerId, programId);
    return c.json({ employerId, employerIncentives }, 200);
  },
);

incentiveRoutes.openapi(
  createRoute({
    method: "post",
    path: "/events",
    operationId: "createIncentiveEvent",
    tags: ["incentives"],
    summary: "Report a user's event (data-logged, birth-reported, …); streaks and awards follow through the queue (service or admin)",
    description:
      "Needs a `service` or `admin` token: anonymous clients cannot earn. " +
      "Idempotent on `eventId` (assigned when missing): the same id and payload answers the same, a different payload " +
      "is 409. `utcOffsetMinutes` (default 0, −720…840) places the event on the user's local day. An event dated more " +
      "than a day ahead of the server's clock is 422.",
    security: bearer,
    middleware: [requireRole("service", "admin")],
    request: { body: jsonBody(incentiveEventSchema) },
    responses: {
      202: jsonResponse(z.object({ eventId: z.string() }), "Accepted; the event is queued"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    if (body.timestamp > Date.now() + MAX_FUTURE_MS) {
      const message = "must not be more than a day in the future";
      throw new ApiError("unprocessable", `timestamp ${message}`, { errors: [{ path: "timestamp", message }] });
    }
    const eventId = body.eventId ?? crypto.randomUUID();
    const message: IncentiveEventMessage = {
      kind: "incentive-event",
      eventId,
      userId: body.userId,
      employerId: body.employerId,
      event: body.event,
      timestamp: body.timestamp,
      utcOffsetMinutes: body.utcOffsetMinutes,
    };
    await admitEventId(c.env, "incentive-event", eventId, message, INCENTIVE_EVENT_ID_RETENTION_MS);
    // Sent again on a replay too: a send that failed the first time is healed by the client's
    // retry, and a user's streak counts a day once however often its event arrives.
    // The request id rides on the message only, not in the admitted payload a resend is compared with.
    await sendCoalesced(c.env.INCENTIVE_EVENTS, { ...message, httpRequestId: c.get("requestId") }, waitUntilOf(c));
    return c.json({ eventId }, 202);
  },
);

userIncentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{userId}/streaks",
    operationId: "listUserStreaks",
    tags: ["incentives"],
    summary: "The user's current and longest streak per employer and event",
    security: bearer,
    middleware: [selfOrAdmin],
    request: {
      params: z.object({ userId: idParamSchema }),
      query: z.object({ employerId: idParamSchema.optional(), event: eventNameSchema.optional() }),
    },
    responses: {
      200: jsonResponse(z.object({ userId: idJsonSchema, streaks: z.array(streakSchema) }), "One entry per employer and event"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { userId } = c.req.valid("param");
    const query = c.req.valid("query");
    const streaks = (await userStub(c.env, userId).streaks()).filter(
      (s) => (query.employerId === undefined || s.employerId === query.employerId) && (query.event === undefined || s.event === query.event),
    );
    return c.json({ userId, streaks }, 200);
  },
);

userIncentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{userId}/awards",
    operationId: "listUserAwards",
    tags: ["incentives"],
    summary: "The user's incentive awards, newest first",
    security: bearer,
    middleware: [selfOrAdmin],
    request: { params: z.object({ userId: idParamSchema }), query: z.object({ limit: limitQuery, cursor: awardsCursor }) },
    responses: {
      200: jsonResponse(z.object({ awards: z.array(awardSchema), nextCursor: z.string().nullable() }), "Newest first, one page"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { userId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    return c.json(await listAwards(c.env.DB, { userId }, limit, cursor), 200);
  },
);

employerIncentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{employerId}/awards",
    operationId: "listEmployerAwards",
    tags: ["incentives"],
    summary: "Awards made under the employer's incentives, newest first",
    security: bearer,
    middleware: [employerOrAdmin],
    request: { params: z.object({ employerId: idParamSchema }), query: z.object({ limit: limitQuery, cursor: awardsCursor }) },
    responses: {
      200: jsonResponse(z.object({ awards: z.array(awardSchema), nextCursor: z.string().nullable() }), "Newest first, one page"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { employerId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    return c.json(await listAwards(c.env.DB, { employerId }, limit, cursor), 200);
  },
);

employerIncentiveRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{employerId}/progress",
    operationId: "getEmployerProgress",
    tags: ["incentives"],
    summary: "Each employee's progress toward each incentive the employer attached",
    description:
      "One row per user with history for an attached, active incentive's event, by user id then employer incentive id; " +
      "`?employerIncentiveId=` keeps one incentive. `current` of `needed`: for a streak the run of consecutive local days " +
      "ending at the user's latest day, for a count the events within the `withinDays` days ending at the latest event's " +
      "day, for a one-off 0 or 1. `limit` is 1–100 (default 100).",
    security: bearer,
    middleware: [employerOrAdmin],
    request: {
      params: z.object({ employerId: idParamSchema }),
      query: z.object({ employerIncentiveId: idParamSchema.optional(), limit: progressLimitQuery, cursor: progressCursor }),
    },
    responses: {
      200: jsonResponse(z.object({ progress: z.array(progressSchema), nextCursor: z.string().nullable() }), "One page"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { employerId } = c.req.valid("param");
    const { employerIncentiveId, limit, cursor } = c.req.valid("query");
    const { items, nextCursor } = await progressPage(c.env.DB, employerId, employerIncentiveId, limit, cursor);
    // Rows come by user: one object call per user on the page, answers kept in page order.
    const byUser = Map.groupBy(items, (item) => item.userId);
    const perUser = await Promise.all(
      [...byUser].map(async ([userId, own]): Promise<ProgressJson[]> => {
        const answers = await userStub(c.env, userId).incentiveProgress(employerId, own.map((item) => item.candidate));
        return answers.map((answer) => ({ userId, ...answer }));
      }),
    );
    return c.json({ progress: perUser.flat(), nextCursor }, 200);
  },
);
