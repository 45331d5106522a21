import { createRoute } from "@hono/zod-openapi";
import { and, count, desc, eq, gte, lt } from "drizzle-orm";
import { z } from "zod";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { database, schema } from "../../shared/db/client.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { toIso } from "../../shared/time.ts";
import { isUser, principalOf, requireRole } from "../http/auth.ts";
import { requireSignedIn } from "../http/guards.ts";
import { ApiError, unwrap } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses, rateLimitedResponses } from "../http/router.ts";
import {
  clientIdParamSchema,
  connectionRequestSchema,
  connectionSchema,
  connectionStatusSchema,
  reportQuerySchema,
  reportResponseSchema,
} from "./schemas.ts";
import { shareConnection } from "./share.ts";

/** Citizens' connection requests and their status, mounted at `/connections`. */
export const connectionRoutes = createRouter();

/** The admin report of established connections, mounted at `/reports`. */
export const reportRoutes = createRouter();

connectionRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createConnection",
    tags: ["connections"],
    summary: "Ask an available officer to connect",
    description:
      "The officer's socket gets `connection-request`; the officer accepts or declines over the socket within 60 s. " +
      "It is established only when both last known locations (the officer's latest, the citizen's in this request) " +
      "are within 200 m. A resend with the same `requestId` returns the first answer.",
    security: bearer,
    middleware: [requireRole("citizen")],
    request: { body: jsonBody(connectionRequestSchema) },
    responses: {
      202: jsonResponse(z.object({ requestId: z.string(), status: z.literal("pending") }), "The request is waiting for the officer"),
      ...problemResponses,
      ...rateLimitedResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const citizenId = principalOf(c).sub;
    if (body.officerId === citizenId) {
      throw new ApiError("unprocessable", "you cannot connect with yourself", {
        errors: [{ path: "officerId", message: "is the caller" }],
      });
    }
    const requestId = body.requestId ?? crypto.randomUUID();
    const entry = { requestId, zip: body.zip, citizenId, officerId: body.officerId, lat: body.lat, lng: body.lng };
    const db = database(c.env.DB);
    // The directory row comes first, so a request id belongs to one zip only, whatever the retries.
    const [inserted] = await db
      .insert(schema.connectionRequests)
      .values({ ...entry, createdAt: Date.now() })
      .onConflictDoNothing()
      .returning({ requestId: schema.connectionRequests.requestId });
    if (!inserted) {
      const [first] = await db
        .select()
        .from(schema.connectionRequests)
        .where(eq(schema.connectionRequests.requestId, requestId));
      const same =
        first !== undefined &&
        sameTerms({ ...first, createdAt: undefined }, { ...entry, createdAt: undefined });
      if (!same) throw new ApiError("idempotency_conflict", `request id ${requestId} was already used with a different payload`);
    }
    const result = await zipAreaStub(c.env, body.zip).requestConnection(entry);
    if (!result.ok && result.code === "not_found") {
      // The officer is not available: the zip stored nothing, so the directory keeps nothing either
      // and the same id works once the officer is. A resend of this id that raced in and was
      // accepted would lose its row here; its client's next resend writes it back.
      await db.delete(schema.connectionRequests).where(eq(schema.connectionRequests.requestId, requestId));
    }
    return c.json(unwrap(result), 202);
  },
);

connectionRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{requestId}",
    operationId: "getConnection",
    tags: ["connections"],
    summary: "A connection request's status (the citizen, the officer, or an admin)",
    security: bearer,
    middleware: [requireSignedIn()],
    request: { params: z.object({ requestId: clientIdParamSchema }) },
    responses: {
      200: jsonResponse(connectionSchema, "The request; `expired` once 60 s passed without an answer"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const me = principalOf(c);
    const { requestId } = c.req.valid("param");
    const [entry] = await database(c.env.DB)
      .select()
      .from(schema.connectionRequests)
      .where(eq(schema.connectionRequests.requestId, requestId));
    if (!entry) throw new ApiError("not_found", `no connection request ${requestId}`);
    if (!isUser(me, entry.citizenId) && !isUser(me, entry.officerId) && !me.roles.includes("admin")) {
      throw new ApiError("forbidden", "only the citizen, the officer or an admin may read this request");
    }
    const view = unwrap(await zipAreaStub(c.env, entry.zip).connection(requestId));
    return c.json({ ...view, status: connectionStatusSchema.parse(view.status), createdAt: toIso(view.createdAt) }, 200);
  },
);

connectionRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{requestId}/share",
    operationId: "shareConnection",
    tags: ["connections"],
    summary: "Consent, as the citizen or the officer, to share an established connection publicly",
    description:
      "Idempotent per party. Once both parties consented, webhooks subscribed to `connection.shared` receive it with " +
      "public profile data only (display names, zip, UTC day; never a location). 409 until the connection is established.",
    security: bearer,
    // Only a citizen or an officer can be a party; which connection is theirs the handler checks.
    middleware: [requireRole("citizen", "officer")],
    request: { params: z.object({ requestId: clientIdParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ requestId: z.string(), sharedBy: z.array(z.string()) }), "Who has consented, earliest first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { requestId } = c.req.valid("param");
    return c.json(await shareConnection(c.env, requestId, principalOf(c).sub, c.get("requestId")), 200);
  },
);

reportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/connections",
    operationId: "getConnectionReport",
    tags: ["connections"],
    summary: "Established connections counted by zip or by UTC day",
    description: "`time_range=<from>_<to>` (ISO 8601 UTC, `from` inclusive, `to` exclusive) limits it; default all time.",
    security: bearer,
    middleware: [requireRole("admin")],
    request: { query: reportQuerySchema },
    responses: {
      200: jsonResponse(reportResponseSchema, "By zip: most connections first; by day: oldest first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const t = schema.connections;
    const range = query.time_range;
    const where = range ? and(gte(t.establishedAt, range.from), lt(t.establishedAt, range.to)) : undefined;
    const db = database(c.env.DB);
    const connections = count();
    const rows =
      query.groupBy === "zip"
        ? (await db.select({ zip: t.zip, connections }).from(t).where(where).groupBy(t.zip).orderBy(desc(connections), t.zip))
        : await db.select({ day: t.day, connections }).from(t).where(where).groupBy(t.day).orderBy(t.day);
    const total = rows.reduce((sum, row) => sum + row.connections, 0);
    return c.json(
      {
        groupBy: query.groupBy,
        from: range ? toIso(range.from) : null,
        to: range ? toIso(range.to) : null,
        total,
        rows,
      },
      200,
    );
  },
);
