import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { toIso } from "../../shared/time.ts";
import { requireRole } from "../http/auth.ts";
import { importBodies, MAX_IMPORT_BODY_BYTES } from "../http/content.ts";
import { bearer, createRouter, jsonResponse, problemResponses } from "../http/router.ts";
import { listDeadLetters, redriveDeadLetters } from "./dead-letters.ts";
import { IMPORT_KINDS, MAX_LISTED_REJECTIONS, importRows } from "./imports.ts";
import { statusRoutes } from "./status.ts";

/** Operators' tools, mounted at `/admin`. */
export const adminRoutes = createRouter();
adminRoutes.route("/", statusRoutes);

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
    redactedAt: z
      .string()
      .nullable()
      .meta({ description: "When the body lost its tag because the cookie was erased; such a letter is never re-driven" }),
  })
  .meta({ id: "DeadLetter" });

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/dead-letters",
    operationId: "listDeadLetters",
    tags: ["admin"],
    summary: "Queue messages whose retries ran out (pending only; `all=true` includes re-driven and redacted ones)",
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
      redactedAt: letter.redactedAt === null ? null : toIso(letter.redactedAt),
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

const importResultSchema = z
  .object({
    imported: z.number().int().meta({ description: "Rows written: new ids, and users or officers with new values" }),
    unchanged: z.number().int().meta({ description: "Rows equal to what is stored under their id (or to an earlier line)" }),
    rejected: z.array(
      z.object({
        line: z.number().int().meta({ description: "Line of the file (CSV: the header is line 1)" }),
        errors: z.array(z.object({ path: z.string(), message: z.string() })),
      }),
    ).meta({ description: `The first ${MAX_LISTED_REJECTIONS} rejected rows by line; \`rejectedCount\` counts them all` }),
    rejectedCount: z.number().int().meta({ description: "Rows rejected, including those beyond the listed ones" }),
  })
  .meta({ id: "ImportResult" });

const rowsText = (example: string) => ({ schema: z.string().meta({ example }) });

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/imports/{kind}",
    operationId: "createImport",
    tags: ["admin"],
    summary: "Bulk-load offers, charities, officers or users from NDJSON or CSV (up to 5 MiB)",
    description:
      "Each row is validated like the single-item endpoint (`POST /offers`, `POST /charities`, `PUT /users/{id}/profile`; " +
      "officers: `officerId`, `displayName`, `precinct`) and keyed by its id. New ids are written; a row equal to what " +
      "is stored is `unchanged` (offers compare the terms they were created with, `stock` as first given); other " +
      "values update users and officers but are rejected for offers and charities, as their create answers 409. " +
      "Valid rows are stored even when others are rejected; the same file again changes nothing. The answer lists " +
      `the first ${MAX_LISTED_REJECTIONS} rejected rows by line and counts them all (\`rejectedCount\`). ` +
      "CSV: a header row, an empty cell is a missing field.",
    security: bearer,
    middleware: [adminOnly, importBodies()],
    request: {
      params: z.object({ kind: z.enum(IMPORT_KINDS) }),
      body: {
        required: true,
        content: {
          "application/x-ndjson": rowsText('{"charityId":"food-bank","name":"Food Bank"}\n'),
          "text/csv": rowsText("offerId,retailer,title,pointsCost,stock\ncoffee-1,corner-cafe,Free coffee,5,100\n"),
        },
      },
    },
    responses: {
      200: jsonResponse(importResultSchema, "What was written, what was already so, and the rejected rows by line"),
      ...problemResponses,
      413: { ...problemResponses[413], description: `Body over ${MAX_IMPORT_BODY_BYTES / 1024 / 1024} MiB` },
      415: { ...problemResponses[415], description: "Body is neither application/x-ndjson nor text/csv" },
    },
  }),
  async (c) => {
    const { kind } = c.req.valid("param");
    const format = /^text\/csv/i.test(c.req.header("content-type") ?? "") ? "csv" : "ndjson";
    // UTF-8 whatever the type says (a byte order mark from a spreadsheet export is dropped by the decoder).
    const text = new TextDecoder().decode(await c.req.arrayBuffer());
    return c.json(await importRows(c.env, kind, format, text), 200);
  },
);
