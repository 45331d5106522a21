import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./problem.ts";

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

function hasBody(headers: Headers): boolean {
  const length = headers.get("content-length");
  return (length !== null && length !== "0") || headers.has("transfer-encoding");
}

/**
 * Requests with a body must be JSON (415 otherwise) and at most 64 KiB (413), checked before any
 * handler reads them.
 *
 * @example
 * app.use(jsonBodies());
 */
export function jsonBodies(): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `the body must be at most ${MAX_BODY_BYTES} bytes`);
    },
  });
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || !hasBody(c.req.raw.headers)) return next();
    const type = c.req.header("content-type") ?? "";
    if (!JSON_TYPE.test(type)) {
      throw new ApiError("unsupported_media_type", "send the body as application/json");
    }
    return limit(c, next);
  };
}
