import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "./env.ts";

/** Pages may load scripts, styles, images, fonts and data from Tally itself and nowhere else. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

function withHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  } catch {
    // A response passed through from a Durable Object's fetch has immutable headers: copy it.
    const copy = new Response(response.body, response);
    for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
    return copy;
  }
}

/**
 * Every response gets `x-content-type-options: nosniff` and `referrer-policy: no-referrer`; HTML
 * pages also a content security policy whose sources are `'self'` only.
 *
 * @example
 * app.use(securityHeaders());
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const headers: Record<string, string> = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
    if (c.res.headers.get("content-type")?.startsWith("text/html")) headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    c.res = withHeaders(c.res, headers);
  };
}

/** The origins `CORS_ORIGINS` lists (comma-separated; empty: none, so same-origin only). */
function allowedOrigins(env: Env): string[] {
  return (env.CORS_ORIGINS as string).split(",").map((origin) => origin.trim()).filter(Boolean);
}

/**
 * Cross-origin access for the origins in `CORS_ORIGINS`: they get `access-control-allow-*` headers
 * and a 204 preflight; any other origin gets neither, so browsers keep it same-origin.
 *
 * @example
 * app.use(corsFromEnv());
 */
export function corsFromEnv(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (!origin || !allowedOrigins(c.env).includes(origin)) return next();
    return cors({
      origin,
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["authorization", "content-type", "accept", "x-request-id"],
      exposeHeaders: ["x-request-id", "retry-after", "allow"],
      maxAge: 600,
    })(c, next);
  };
}
