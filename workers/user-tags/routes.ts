import { createRoute } from "@hono/zod-openapi";
import type { z } from "zod";
import { profileStoreStub } from "../../durable-objects/profile-store/stub.ts";
import { profileBody } from "../../durable-objects/profile-store/tag-profiles.ts";
import { redactCookieDeadLetters } from "../admin/dead-letters.ts";
import { requireRole } from "../http/auth.ts";
import { waitUntilOf } from "../http/env.ts";
import { bearer, createRouter, jsonBody, jsonResponse, middlewareProblemResponses, preserializedJson, problemResponses } from "../http/router.ts";
import { sendCoalesced } from "../queue-kit.ts";
import { queryAggregates } from "./aggregates.ts";
import { checkExpected } from "./debug.ts";
import { acceptTag } from "./ingest.ts";
import {
  aggregatesQuerySchema,
  aggregatesSchema,
  cookieParamSchema,
  profileQuerySchema,
  profileSchema,
  userTagSchema,
} from "./schemas.ts";

/** Allezon's tag ingest, mounted at `/user_tags`. */
export const userTagRoutes = createRouter();

/** A cookie's profile, mounted at `/user_profiles`. */
export const userProfileRoutes = createRouter();

/** Per-minute, per-hour and per-day aggregates, mounted at `/aggregates`. */
export const aggregateRoutes = createRouter();

const DEBUG_NOTE =
  "Debug mode: a JSON body holding the expected answer is optional; when ours differs, both are logged. " +
  "The answer is the same either way.";

/**
 * Debug mode's optional request body: the expected answer, in the answer's own schema. Described
 * with a reference rather than a zod schema on purpose, so it is documented (and typed in the
 * generated client) but not validated: an expectation that differs or does not parse is logged or
 * ignored, never refused.
 */
const expectedAnswerBody = (schemaId: "UserProfile" | "Aggregates") => ({
  required: false,
  description: "The expected answer (optional); compared with ours, never stored",
  content: { "application/json": { schema: { $ref: `#/components/schemas/${schemaId}` } } },
});

userTagRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createUserTag",
    tags: ["Allezon"],
    summary: "Record a user tag",
    description:
      "Answers 204 once the tag is durably queued; it reaches its cookie's profile and its hour's aggregates within " +
      "seconds. A resent tag (same content) counts once.",
    security: [],
    request: { body: jsonBody(userTagSchema) },
    responses: { 204: { description: "Accepted durably (queued; applied within seconds)" }, ...middlewareProblemResponses },
  }),
  async (c) => {
    const tag = await acceptTag(c.req.valid("json"));
    await sendCoalesced(c.env.USER_TAGS, { ...tag, httpRequestId: c.get("requestId") }, waitUntilOf(c));
    return c.body(null, 204);
  },
);

userProfileRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{cookie}",
    operationId: "getUserProfile",
    tags: ["Allezon"],
    summary: "A cookie's most recent VIEWs and BUYs",
    description: `Each list newest first, \`from <= time < to\`, at most \`limit\`. ${DEBUG_NOTE}`,
    security: [],
    request: { params: cookieParamSchema, query: profileQuerySchema, body: expectedAnswerBody("UserProfile") },
    responses: { 200: jsonResponse(profileSchema, "The profile"), ...middlewareProblemResponses, 422: problemResponses[422] },
  }),
  async (c) => {
    const { cookie } = c.req.valid("param");
    const { time_range: range, limit } = c.req.valid("query");
    const lists = await profileStoreStub(c.env, cookie).lists(cookie, { from: range.from, to: range.to, limit });
    const profile = profileBody(cookie, lists);
    const body = await c.req.text();
    if (body) checkExpected(`POST /user_profiles/${cookie}`, body, profile);
    return preserializedJson<z.infer<typeof profileSchema>>(c, profile);
  },
);

userProfileRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{cookie}",
    operationId: "deleteUserProfile",
    tags: ["Allezon"],
    summary: "Erase a cookie's profile",
    description:
      "Erases the profile, including tags of the cookie accepted before the erase and still queued: they are dropped " +
      "when they arrive. Dead letters of those tags are redacted (now, or as they die later) and never re-driven. " +
      "Tags accepted after it start a new profile. Aggregates keep their counts; they hold no cookie, only, for 25 h, " +
      "a one-way hash of each tag that counts a redelivered tag once.",
    security: bearer,
    middleware: [requireRole("admin")],
    request: { params: cookieParamSchema },
    responses: {
      204: { description: "Erased (also when the cookie had no profile)" },
      ...problemResponses,
    },
  }),
  async (c) => {
    const { cookie } = c.req.valid("param");
    const at = Date.now();
    // The mark first: a tag dying into the dead-letter queue meanwhile is then redacted as it is recorded.
    await profileStoreStub(c.env, cookie).erase(cookie, at);
    await redactCookieDeadLetters(c.env, cookie, at);
    return c.body(null, 204);
  },
);

aggregateRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "queryAggregates",
    tags: ["Allezon"],
    summary: "Exact COUNT / SUM_PRICE per 1-minute, 1-hour or 1-day bucket",
    description:
      "`granularity=minute` (default): whole minutes, at most 10, first column `1m_bucket`. `granularity=hour`: whole hours, " +
      "at most 31 days, first column `1h_bucket`. `granularity=day`: whole UTC days, at most 400 days, first column " +
      "`1d_bucket`. One row per bucket of `[from, to)`, named by its start (`2022-03-01T00:00:00`), oldest first, zeros " +
      "included; every value a string. Hours and days are kept for 400 days of event time and include a tag about 10 s " +
      "after the minutes do. " +
      DEBUG_NOTE,
    security: [],
    request: { query: aggregatesQuerySchema, body: expectedAnswerBody("Aggregates") },
    responses: { 200: jsonResponse(aggregatesSchema, "The table"), ...middlewareProblemResponses, 422: problemResponses[422] },
  }),
  async (c) => {
    const table = await queryAggregates(c.env, c.req.valid("query"));
    const body = await c.req.text();
    const answer = JSON.stringify(table);
    if (body) checkExpected(`POST /aggregates${new URL(c.req.url).search}`, body, answer);
    return preserializedJson<z.infer<typeof aggregatesSchema>>(c, answer);
  },
);
