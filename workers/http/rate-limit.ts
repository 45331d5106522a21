import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";
import { ApiError, problemResponse } from "./problem.ts";
import { isLocalMode } from "./secrets.ts";

/** The one address every caller shares in local mode, where no edge vouches for `cf-connecting-ip`. */
export const LOCAL_CLIENT_ADDRESS = "local";

/**
 * The caller's address for per-address limits. On Cloudflare, the edge sets `cf-connecting-ip` on
 * every request and replaces any value a client sent, so it is the caller's. Off Cloudflare (local
 * mode, `LOCAL_MODE="true"`) nothing replaces it, so a client could claim a fresh address per
 * request: there every caller counts as one address, `LOCAL_CLIENT_ADDRESS`, and a forged header buys
 * nothing.
 */
export function clientAddress(c: Context<AppEnv>): string {
  if (isLocalMode(c.env)) return LOCAL_CLIENT_ADDRESS;
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

type LimiterBinding = "NEARBY_RATE_LIMIT" | "CONNECTIONS_RATE_LIMIT" | "REWARDS_RATE_LIMIT" | "PUBLIC_PROFILES_RATE_LIMIT";
type LimitVar = "RATE_NEARBY_PER_MINUTE" | "RATE_CONNECTIONS_PER_MINUTE" | "RATE_REWARDS_PER_MINUTE" | "RATE_PUBLIC_PROFILES_PER_MINUTE";

/**
 * The binding counts in windows of one minute; a caller refused now is let through again within a
 * minute at the latest, so that is what `Retry-After` promises.
 */
const RETRY_AFTER_SECONDS = 60;

/**
 * Limits `method` requests on the path it is mounted on to the binding's number per minute per
 * token `sub`, answering 429 problem+json with `Retry-After`. The count lives in Cloudflare's Rate
 * Limiting binding (`[[ratelimits]]` in wrangler.toml, where the limit is fixed); `perMinute` names
 * the var that states the same number for the answer. Anonymous requests pass untouched: the route
 * refuses them with 401 anyway.
 *
 * @example
 * app.use("/connections", rateLimit("POST", "CONNECTIONS_RATE_LIMIT", "RATE_CONNECTIONS_PER_MINUTE"));
 */
export function rateLimit(method: string, binding: LimiterBinding, perMinute: LimitVar): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (c.req.method !== method || !principal) return next();
    const { success } = await c.env[binding].limit({ key: principal.sub });
    if (!success) return refuse(c, perMinute);
    return next();
  };
}

/**
 * Route middleware for public reads (no token needed): at most the binding's number per minute per
 * caller — the token's `sub` when one is sent, else the client's address (`clientAddress`) — so
 * nobody walks every id of a public endpoint at full speed. 429 problem+json with `Retry-After`.
 *
 * @example
 * createRoute({ ..., security: [], middleware: [rateLimitPublic("PUBLIC_PROFILES_RATE_LIMIT", "RATE_PUBLIC_PROFILES_PER_MINUTE")] });
 */
export function rateLimitPublic(binding: LimiterBinding, perMinute: LimitVar): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    const key = principal ? `sub:${principal.sub}` : `address:${clientAddress(c)}`;
    const { success } = await c.env[binding].limit({ key });
    if (!success) return refuse(c, perMinute);
    await next();
  };
}

function refuse(c: Context<AppEnv>, perMinute: LimitVar): Response {
  const detail = `at most ${c.env[perMinute]} ${c.req.method} ${c.req.path} requests a minute per caller; retry later`;
  return problemResponse(c, new ApiError("rate_limited", detail), { "retry-after": String(RETRY_AFTER_SECONDS) });
}
