import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { byDistance, shownDistance, type Neighbour } from "../../durable-objects/zip-area/geo.ts";
import { CITIZEN_ID_HEADER, OFFICER_ID_HEADER, ZIP_AREA_SOCKET_URL, ZIP_HEADER } from "../../durable-objects/zip-area/zip-area.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { idParamSchema } from "../../shared/ids.ts";
import { principalOf, requireRole } from "../http/auth.ts";
import type { AppEnv } from "../http/env.ts";
import { ApiError } from "../http/problem.ts";
import { rateLimitPublic } from "../http/rate-limit.ts";
import { bearer, createRouter, jsonResponse, problemResponses, rateLimitedResponses, upgradeResponse } from "../http/router.ts";
import { officerProfileSchema, publicProfileOf } from "../users/public-profiles.ts";
import { nearbyQuerySchema, nearbyResponseSchema, zipSchema } from "./schemas.ts";

/** Officers' presence sockets, mounted at `/presence`. */
export const presenceRoutes = createRouter();

/** Citizens' nearby search and officers' public profiles, mounted at `/officers`. */
export const officerRoutes = createRouter();

/** Citizens' nearby sockets, mounted at `/nearby`. */
export const nearbyRoutes = createRouter();

/** Forwards a checked socket upgrade to the zip's `ZipArea`, naming the caller (and nothing else) in `idHeader`. */
async function forwardUpgrade(c: Context<AppEnv>, zip: string, idHeader: string): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("validation_failed", "this endpoint is a WebSocket; send Upgrade: websocket", {
      errors: [{ path: "header.upgrade", message: "must be websocket" }],
    });
  }
  // A request built afresh: nothing the client sent (an `x-tally-*` header, a cookie) reaches the
  // object, which learns the caller only from the identity set here after the token was checked.
  const headers = new Headers({ upgrade: "websocket", [idHeader]: principalOf(c).sub, [ZIP_HEADER]: zip });
  return upgradeResponse(c, await zipAreaStub(c.env, zip).fetch(new Request(ZIP_AREA_SOCKET_URL, { headers })));
}

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
  async (c) => forwardUpgrade(c, c.req.valid("param").zip, OFFICER_ID_HEADER),
);

nearbyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{zip}",
    operationId: "openNearbySocket",
    tags: ["connections"],
    summary: "A citizen's nearby socket: locations in, the nearest available officers of this zip pushed",
    description:
      "WebSocket; pass the citizen's token as `?token=`. Client messages: `{type:'location',lat,lng,radius?}` " +
      "(radius default 1000 m, at most 10000; counted against `RATE_NEARBY_PER_MINUTE`). Server messages: " +
      "`officers` (the nearest 10, after each location and whenever the list changes), `officer-nearby` (once per " +
      "officer per socket, within 200 m), `connection` (a request of this citizen accepted, declined or expired), " +
      "`trophy`, `error`; at most 5 a second. `{\"type\":\"ping\"}` (exactly) is answered `{\"type\":\"pong\"}`. " +
      "The server closes with 4001 when the citizen connected again to this zip. See docs/sockets.md.",
    security: bearer,
    middleware: [requireRole("citizen")],
    request: { params: z.object({ zip: zipSchema }) },
    responses: {
      101: { description: "Switching Protocols: the WebSocket is open; its messages are described in docs/sockets.md" },
      ...problemResponses,
    },
  }),
  async (c) => forwardUpgrade(c, c.req.valid("param").zip, CITIZEN_ID_HEADER),
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
    const nearest = new Map<string, Neighbour & { zip: string; displayName: string | null }>();
    for (const officer of perZip.flat()) {
      const seen = nearest.get(officer.id);
      if (!seen || officer.distanceMeters < seen.distanceMeters) nearest.set(officer.id, officer);
    }
    const officers = [...nearest.values()]
      .sort(byDistance)
      .slice(0, query.limit)
      .map((officer) => ({
        officerId: officer.id,
        displayName: officer.displayName,
        zip: officer.zip,
        distanceMeters: shownDistance(officer.distanceMeters),
      }));
    return c.json({ officers }, 200);
  },
);

officerRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{officerId}",
    operationId: "getOfficer",
    tags: ["connections"],
    summary: "An officer's public profile: display name, precinct, connections and trophies",
    description:
      "Public; no points, no locations. An id nobody has used answers with nulls, 0 connections and no trophies. " +
      "Trophies show the UTC day they were earned. At most `RATE_PUBLIC_PROFILES_PER_MINUTE` reads a minute per " +
      "caller (token sub, else client address), shared with `GET /users/{userId}/profile`.",
    security: [],
    middleware: [rateLimitPublic("PUBLIC_PROFILES_RATE_LIMIT", "RATE_PUBLIC_PROFILES_PER_MINUTE")],
    request: { params: z.object({ officerId: idParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ officer: officerProfileSchema }), "The officer's public profile"),
      ...problemResponses,
      ...rateLimitedResponses,
    },
  }),
  async (c) => {
    const { userId, displayName, precinct, connections, trophies } = await publicProfileOf(c.env, c.req.valid("param").officerId);
    return c.json({ officer: { officerId: userId, displayName, precinct, connections, trophies } }, 200);
  },
);
