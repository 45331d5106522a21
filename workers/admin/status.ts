/**
 * `GET /admin/status`: what an operator checks first — per queue consumer when its last batch ran,
 * how old the oldest message of that batch was, and the dead letters waiting; settlements waiting
 * on a retry; webhook deliveries failing; and which version of the Worker answers.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { toIso } from "../../shared/time.ts";
import { settleDelayMs } from "../../durable-objects/campaign-board/lifecycle.ts";
import { requireRole } from "../http/auth.ts";
import { bearer, createRouter, jsonResponse, problemResponses } from "../http/router.ts";
import { readStatus } from "./status-store.ts";

/** Mounted under `/admin` beside the other operators' tools. */
export const statusRoutes = createRouter();

const queueStatusSchema = z
  .object({
    queue: z.string().meta({ description: "Queue name, as in wrangler.toml" }),
    lastBatchAt: z.string().nullable().meta({ description: "When its consumer's latest batch started; null if none ran yet" }),
    maxLagSeconds: z
      .number()
      .nullable()
      .meta({ description: "Age of the oldest message in that batch when it started (from the message's send time), seconds" }),
    deadLetters: z.number().int().meta({ description: "Its messages in the dead letters, not re-driven yet" }),
  })
  .meta({ id: "QueueStatus" });

const statusSchema = z
  .object({
    queues: z.array(queueStatusSchema),
    settlementsPending: z.number().int().meta({ description: "Campaigns past their settlement time, not settled: the board retries them by alarm" }),
    webhookDeliveriesFailing: z.number().int().meta({ description: "(event, webhook) pairs whose latest attempt failed and will be retried" }),
    version: z.string().meta({ description: "The Worker version answering (Cloudflare's version id; `dev` locally when none)" }),
  })
  .meta({ id: "Status" });

statusRoutes.openapi(
  createRoute({
    method: "get",
    path: "/status",
    operationId: "getStatus",
    tags: ["admin"],
    summary: "Queues' latest batches and lag, dead letters, pending settlements, failing webhook deliveries",
    security: bearer,
    middleware: [requireRole("admin")],
    responses: { 200: jsonResponse(statusSchema, "Tally's state for operators"), ...problemResponses },
  }),
  async (c) => {
    const status = await readStatus(c.env.DB, Date.now(), settleDelayMs(c.env.SETTLE_DELAY_SECONDS));
    const version = c.env.CF_VERSION_METADATA?.tag || c.env.CF_VERSION_METADATA?.id || "dev";
    return c.json(
      {
        ...status,
        queues: status.queues.map((queue) => ({ ...queue, lastBatchAt: queue.lastBatchAt === null ? null : toIso(queue.lastBatchAt) })),
        version,
      },
      200,
    );
  },
);
