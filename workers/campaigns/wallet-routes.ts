import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { idJsonSchema, idParamSchema } from "../../shared/ids.ts";
import { moneyJsonSchema, nullableMoneyJsonSchema } from "../../shared/money.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import { requireSelfOrAdmin } from "../http/guards.ts";
import { bearer, createRouter, jsonResponse, problemResponses } from "../http/router.ts";

/** A user's wallet of points and prize money, mounted at `/users`. */
export const walletRoutes = createRouter();

const walletSchema = z
  .object({
    userId: idJsonSchema,
    points: z.number().int(),
    money: z.array(moneyJsonSchema),
    entries: z.array(
      z.object({ ref: z.string(), points: z.number().int(), money: nullableMoneyJsonSchema, reason: z.string(), createdAt: z.string() }),
    ),
  })
  .meta({ id: "Wallet" });

walletRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{userId}/wallet",
    operationId: "getWallet",
    tags: ["wallet"],
    summary: "Points and prize money, with the latest entries first (the user or an admin)",
    security: bearer,
    middleware: [requireSelfOrAdmin()],
    request: {
      params: z.object({ userId: idParamSchema }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    },
    responses: { 200: jsonResponse(walletSchema, "The wallet"), ...problemResponses },
  }),
  async (c) => {
    const { userId } = c.req.valid("param");
    const view = await userStub(c.env, userId).walletView(c.req.valid("query").limit);
    return c.json({ userId, ...view }, 200);
  },
);
