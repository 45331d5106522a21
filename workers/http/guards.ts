import type { MiddlewareHandler } from "hono";
import { assertEmployerOrAdmin, assertSelfOrAdmin, principalOf } from "./auth.ts";
import type { AppEnv } from "./env.ts";

// These run as route middleware, before validation, so a caller without the right token learns
// nothing about what a valid request would be: 401 without a token, 403 with the wrong one.

/** A path id as `idParamSchema` will read it ("007" is "7"); anything else is left for validation to refuse. */
function canonicalPathId(raw: string | undefined): string {
  return raw !== undefined && /^\d{1,16}$/.test(raw) ? String(Number(raw)) : (raw ?? "");
}

/**
 * Lets through any caller with a valid token; who may see what is decided by the handler.
 *
 * @example
 * createRoute({ ..., middleware: [requireSignedIn()] });
 */
export function requireSignedIn(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    principalOf(c);
    await next();
  };
}

/**
 * Lets through the user named by the path parameter `param`, or an admin.
 *
 * @example
 * createRoute({ path: "/{userId}/wallet", ..., middleware: [requireSelfOrAdmin()] });
 */
export function requireSelfOrAdmin(param = "userId"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    assertSelfOrAdmin(c, canonicalPathId(c.req.param(param)));
    await next();
  };
}

/**
 * Lets through an admin, or an employer whose token carries the path parameter `param`'s id.
 *
 * @example
 * createRoute({ path: "/{employerId}/awards", ..., middleware: [requireEmployerOrAdmin()] });
 */
export function requireEmployerOrAdmin(param = "employerId"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    assertEmployerOrAdmin(c, canonicalPathId(c.req.param(param)));
    await next();
  };
}
