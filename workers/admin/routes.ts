import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { toIso } from "../../shared/time.ts";
import { requireRole } from "../http/auth.ts";
import { bearer, createRouter, jsonResponse, problemResponses } from "../http/router.ts";
import { listDeadLetters, redriveDeadLetters } from "./dead-letters.ts";

/** Operators' tools, mounted at `/admin`. */
export const adminRoutes = createRouter();

const adminOnly = requireRole("admin");

const deadLetterSchema = z
  .object({
    deadLetterId: z.string(),
    kind: z.string(),
    queue: z.string(),
    body: z.unknown(),
    attempts: z.number().int(),
    receivedAt: z.string(),
    redrivenAt: z.string().nullable(),
  })
  .meta({ id: "DeadLetter" });

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/dead-letters",
    operationId: "listDeadLetters",
    tags: ["admin"],
    summary: "Queue messages whose retries ran out (pending first; `all=true` includes re-driven ones)",
    security: bearer,
    middleware: [adminOnly],
    request: {
      query: z.object({
        all: z.enum(["true", "false"]).default("false"),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
    responses: {
      200: jsonResponse(z.object({ deadLetters: z.array(deadLetterSchema) }), "Dead letters, newest first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const letters = await listDeadLetters(c.env, { includeRedriven: query.all === "true", limit: query.limit });
    const deadLetters = letters.map((letter) => ({
      ...letter,
      receivedAt: toIso(letter.receivedAt),
      redrivenAt: letter.redrivenAt === null ? null : toIso(letter.redrivenAt),
    }));
    return c.json({ deadLetters }, 200);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/dead-letters/redrive",
    operationId: "redriveDeadLetters",
    tags: ["admin"],
    summary: "Send pending dead letters back to their queues (all, or the ids given)",
    security: bearer,
    middleware: [adminOnly],
    request: {
      body: {
        required: false,
        content: { "application/json": { schema: z.object({ deadLetterIds: z.array(z.string().min(1)).min(1).max(1000).optional() }) } },
      },
    },
    responses: {
      200: jsonResponse(z.object({ redriven: z.array(z.string()) }), "The ids sent back"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const body = c.req.header("content-length") && c.req.header("content-length") !== "0" ? c.req.valid("json") : {};
    const redriven = await redriveDeadLetters(c.env, body.deadLetterIds);
    return c.json({ redriven }, 200);
  },
);
