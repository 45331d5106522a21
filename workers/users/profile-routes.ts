import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { displayNameSchema } from "../../shared/campaigns.ts";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import { requireSelfOrAdmin } from "../http/guards.ts";
import { rateLimitPublic } from "../http/rate-limit.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses, rateLimitedResponses } from "../http/router.ts";
import { setDisplayNames } from "./display-names.ts";
import { publicProfileOf, publicProfileSchema } from "./public-profiles.ts";

/** A user's display name and public profile, mounted at `/users`. */
export const profileRoutes = createRouter();

const profileSchema = z.object({ userId: idJsonSchema, displayName: z.string() }).meta({ id: "UserDisplayName" });

profileRoutes.openapi(
  createRoute({
    method: "put",
    path: "/{userId}/profile",
    tags: ["users"],
    operationId: "setUserProfile",
    summary: "Set a user's display name, shown on leaderboards within seconds (the user or an admin)",
    security: bearer,
    middleware: [requireSelfOrAdmin()],
    request: {
      params: z.object({ userId: idParamSchema }),
      body: jsonBody(z.object({ displayName: displayNameSchema })),
    },
    responses: { 200: jsonResponse(z.object({ profile: profileSchema }), "The profile as stored"), ...problemResponses },
  }),
  async (c) => {
    const { userId } = c.req.valid("param");
    const { displayName } = c.req.valid("json");
    await setDisplayNames(c.env, [{ userId, displayName }]);
    return c.json({ profile: { userId, displayName } }, 200);
  },
);

profileRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{userId}/profile",
    tags: ["users"],
    operationId: "getPublicProfile",
    summary: "A user's public profile: display name, connections and trophies (no points, no locations)",
    description:
      "Public. An id nobody has used answers like a new user (displayName null, 0 connections, no trophies) rather " +
      "than 404, so the endpoint does not reveal which ids are in use. Trophies show the UTC day they were earned. " +
      "At most `RATE_PUBLIC_PROFILES_PER_MINUTE` reads a minute per caller (token sub, else client address).",
    security: [],
    middleware: [rateLimitPublic("PUBLIC_PROFILES_RATE_LIMIT", "RATE_PUBLIC_PROFILES_PER_MINUTE")],
    request: { params: z.object({ userId: idParamSchema }) },
    responses: {
      200: jsonResponse(z.object({ profile: publicProfileSchema }), "The public profile"),
      ...problemResponses,
      ...rateLimitedResponses,
    },
  }),
  async (c) => {
    const { userId, displayName, connections, trophies } = await publicProfileOf(c.env, c.req.valid("param").userId);
    return c.json({ profile: { userId, displayName, connections, trophies } }, 200);
  },
);
