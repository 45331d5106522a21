import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, TypedResponse } from "hono";
import { z } from "zod";
import type { AppEnv } from "./env.ts";
import { validationHook } from "./validation.ts";

/**
 * A feature router whose routes are declared with their zod schemas: the same schemas validate
 * requests (failures become 400/422 problems naming each field) and generate /openapi.json.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })),
  })
  .meta({ id: "Problem" });

/** A JSON response entry for a route's `responses`. */
export function jsonResponse<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

/** A required JSON request body for a route's `request`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: problemSchema } } });

/** The error responses every route can give, for the OpenAPI document. */
export const problemResponses = {
  400: problem("Invalid input; `errors[]` names each field"),
  401: problem("Missing or invalid token"),
  403: problem("Token valid but not allowed"),
  404: problem("Unknown resource"),
  409: problem("Conflict: an id reused with a different payload, or not enough balance"),
  413: problem("Body over 64 KiB"),
  415: problem("Body is not JSON"),
  422: problem("Well-formed but impossible"),
  500: problem("Unexpected failure on Tally's side; `requestId` identifies it in the logs"),
  503: problem("Server misconfigured (a secret unset, or the public example value off localhost) or its identity provider unreachable"),
} as const;

/**
 * The problems the app-wide middleware can answer any route with: a bad token (even on a public
 * route), a body that is not JSON or too large, a misconfigured secret, a failure. For routes that
 * answer none of the others in `problemResponses`; a test checks every operation declares these.
 */
export const middlewareProblemResponses = {
  400: problemResponses[400],
  401: problemResponses[401],
  413: problemResponses[413],
  415: problemResponses[415],
  500: problemResponses[500],
  503: problemResponses[503],
} as const;

/**
 * The answer of the rate limits `workers/app.ts` mounts (`rateLimit`), for the routes behind one;
 * a test checks that every rate-limited operation declares it.
 */
export const rateLimitedResponses = {
  429: {
    ...problem("Over the per-caller limit a minute; retry after the seconds in `Retry-After`"),
    headers: { "retry-after": { description: "Seconds to wait", schema: { type: "integer" } } },
  },
} as const;

/** Bearer auth as declared in the OpenAPI document. */
export const bearer = [{ bearerAuth: [] }];

/**
 * Answers with JSON that is already serialized (a Durable Object's cached response body),
 * typed as the route's declared response so the OpenAPI contract still describes it. It goes
 * through the context so headers set by middleware (the request id) are kept.
 */
export function preserializedJson<T>(c: Context, body: string): TypedResponse<T, 200, "json"> {
  return c.body(body, 200, { "content-type": "application/json" }) as unknown as TypedResponse<T, 200, "json">;
}

/**
 * Hands a Durable Object's WebSocket handshake back to the client with the request id, which a
 * response built inside the object cannot carry.
 */
export function upgradeResponse(c: Context, response: Response): Response {
  if (response.status !== 101 || !response.webSocket) return response;
  return new Response(null, { status: 101, webSocket: response.webSocket, headers: { "x-request-id": c.get("requestId") ?? "" } });
}
