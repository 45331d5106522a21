import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { byDistance, type Neighbour } from "../../durable-objects/zip-area/geo.ts";
import { OFFICER_ID_HEADER, ZIP_HEADER, zipAreaStub } from "../../durable-objects/zip-area/zip-area.ts";
import { principalOf, requireRole } from "../http/auth.ts";
import { ApiError } from "../http/problem.ts";
import { bearer, createRouter, jsonResponse, problemResponses, rateLimitedResponses, upgradeResponse } from "../http/router.ts";
import { nearbyQuerySchema, nearbyResponseSchema, zipSchema } from "./schemas.ts";

/** Officers' presence sockets, mounted at `/presence`. */
export const presenceRoutes = createRouter();

/** Citizens' nearby search, mounted at `/officers`. */
export const officerRoutes = createRouter();

presenceRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{zip}",
    operationId: "openPresence",
    tags: ["connections"],
    summary: "An officer's presence socket: available in this zip for 15 minutes",
    description:
      "WebSocket; pass the officer's token as `?token=`. Client messages: `{type:'location',lat,lng}`, " +
      "`{type:'accept'|'decline',requestId}`. Server messages: `available`, `connection-request`, `connected`, " +
      "`declined`, `error`. `{\"type\":\"ping\"}` (exactly) is answered `{\"type\":\"pong\"}` without waking the " +
      "object. The server closes with 4000 when the 15 minutes are over, 4001 when the officer connected again.",
    security: bearer,
    middleware: [requireRole("officer")],
    request: { params: z.object({ zip: zipSchema }) },
    responses: {
      101: { description: "Switching Protocols: the WebSocket is open; its messages are described in docs/sockets.md" },
      ...problemResponses,
    },
  }),
  async (c) => {
    const { zip } = c.req.valid("param");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError("validation_failed", "this endpoint is a WebSocket; send Upgrade: websocket", {
        errors: [{ path: "header.upgrade", message: "must be websocket" }],
      });
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set(OFFICER_ID_HEADER, principalOf(c).sub);
    headers.set(ZIP_HEADER, zip);
    return upgradeResponse(c, await zipAreaStub(c.env, zip).fetch(new Request(c.req.url, { headers })));
  },
);

officerRoutes.openapi(
  createRoute({
    method: "get",
    path: "/nearby",
    operationId: "getNearbyOfficers",
    tags: ["connections"],
    summary: "Available officers near a point in the zips given, nearest first",
    security: bearer,
    middleware: [requireRole("citizen")],
    request: { query: nearbyQuerySchema },
    responses: {
      200: jsonResponse(nearbyResponseSchema, "Officers within the radius, nearest first"),
      ...problemResponses,
      ...rateLimitedResponses,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const center = { lat: query.lat, lng: query.lng };
    const perZip = await Promise.all(
      query.zip.map(async (zip) => {
        const found = await zipAreaStub(c.env, zip).nearby(center, query.radius, query.limit);
        return found.map((officer) => ({ ...officer, zip }));
      }),
    );
    // An officer who moved between zips may briefly be in two; the nearer sighting wins.
    const nearest = new Map<string, Neighbour & { zip: string }>();
    for (const officer of perZip.flat()) {
      const seen = nearest.get(officer.id);
      if (!seen || officer.distanceMeters < seen.distanceMeters) nearest.set(officer.id, officer);
    }
    const officers = [...nearest.values()]
      .sort(byDistance)
      .slice(0, query.limit)
      .map((officer) => ({
        officerId: officer.id,
        zip: officer.zip,
        distanceMeters: Math.round(officer.distanceMeters * 10) / 10,
      }));
    return c.json({ officers }, 200);
  },
);
