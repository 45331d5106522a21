import { Hono, type Context } from "hono";
import type { AppEnv } from "./http/env.ts";

/** A request for the same origin's `path` (an asset), keeping the method and headers (conditional GETs). */
function assetRequest(request: Request, path: string): Request {
  return new Request(new URL(path, request.url), request);
}

/**
 * The asset's answer, copied so its headers can change: the request id here (a Response returned as
 * is does not get the headers the requestId middleware prepared), the CSP by `securityHeaders`.
 */
async function asset(c: Context<AppEnv>, request: Request): Promise<Response> {
  const response = await c.env.ASSETS.fetch(request);
  const copy = new Response(response.body, response);
  copy.headers.set("x-request-id", c.get("requestId"));
  return copy;
}

/**
 * The pages, served from Workers Static Assets (`[assets]` in wrangler.toml, built by
 * scripts/build-ui.ts): `/` redirects to `/ui/`; a file under `/ui/` or `/docs/` is served as is; any
 * other `/ui/*` path is the single-page app, which picks the page from the path; `/docs` is Swagger UI.
 * Not in the OpenAPI document: these are pages, not API operations.
 */
export const pageRoutes = new Hono<AppEnv>();

pageRoutes.get("/", (c) => c.redirect("/ui/", 302));
pageRoutes.get("/ui", (c) => c.redirect("/ui/", 301));
pageRoutes.get("/ui/*", (c) => {
  const isFile = /\.[a-z0-9]+$/i.test(c.req.path);
  return asset(c, isFile ? c.req.raw : assetRequest(c.req.raw, "/ui/"));
});
pageRoutes.get("/docs", (c) => asset(c, assetRequest(c.req.raw, "/docs/")));
pageRoutes.get("/docs/*", (c) => asset(c, c.req.raw));
