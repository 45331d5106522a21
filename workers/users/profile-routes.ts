import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { displayNameSchema } from "../../shared/campaigns.ts";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import { requireSelfOrAdmin } from "../http/guards.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { setDisplayNames } from "./display-names.ts";

/** A user's display name, mounted at `/users`. */
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
