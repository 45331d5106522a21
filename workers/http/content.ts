import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./problem.ts";

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Allezon's query endpoints take the expected answer as a debug body, and a full profile
 * (200 VIEWs and 200 BUYs) is about 90 KB. Those bodies are compared, never stored.
 */
export const MAX_DEBUG_BODY_BYTES = 1024 * 1024;
const DEBUG_BODY_PATH = /^\/(user_profiles\/[^/]+|aggregates)$/;

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Bulk imports (`POST /admin/imports/{kind}`): NDJSON or CSV rows, checked by `importBodies` after the role check. */
export const MAX_IMPORT_BODY_BYTES = 5 * 1024 * 1024;
const IMPORT_PATH = /^\/admin\/imports\/[^/]+$/;
const IMPORT_TYPE = /^(application\/x-ndjson|text\/csv)\s*(;|$)/i;

/**
 * Whether the request carries a body. A streamed body may come with neither `content-length` nor
 * `transfer-encoding`, so the body itself decides; only a declared length of 0 means none.
 */
function hasBody(request: Request): boolean {
  return request.body !== null && request.headers.get("content-length") !== "0";
}

function limitOf(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("payload_too_large", `the body must be at most ${maxSize} bytes`);
    },
  });
}

/**
 * Requests with a body must be JSON (415 otherwise) and at most 64 KiB (413) — 1 MiB for
 * Allezon's debug bodies — checked before any handler reads them (imports: `importBodies`). A body without a
 * `content-length` (streamed, or chunked) is measured by the bytes actually read.
 *
 * @example
 * app.use(jsonBodies());
 */
export function jsonBodies(): MiddlewareHandler<AppEnv> {
  const limit = limitOf(MAX_BODY_BYTES);
  const debugLimit = limitOf(MAX_DEBUG_BODY_BYTES);
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || !hasBody(c.req.raw)) return next();
    if (IMPORT_PATH.test(c.req.path)) return next();
    const type = c.req.header("content-type") ?? "";
    if (!JSON_TYPE.test(type)) {
      throw new ApiError("unsupported_media_type", "send the body as application/json");
    }
    return (DEBUG_BODY_PATH.test(c.req.path) ? debugLimit : limit)(c, next);
  };
}

/**
 * An import's body must be `application/x-ndjson` or `text/csv` (415 otherwise) and at most 5 MiB
 * (413). Route middleware after the role check, so only an admin's upload is ever read.
 *
 * @example
 * createRoute({ path: "/imports/{kind}", ..., middleware: [requireRole("admin"), importBodies()] });
 */
export function importBodies(): MiddlewareHandler<AppEnv> {
  const limit = limitOf(MAX_IMPORT_BODY_BYTES);
  return async (c, next) => {
    if (!IMPORT_TYPE.test(c.req.header("content-type") ?? "")) {
      throw new ApiError("unsupported_media_type", "send the rows as application/x-ndjson or text/csv");
    }
    return limit(c, next);
  };
}
