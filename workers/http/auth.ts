import type { Context, MiddlewareHandler } from "hono";
import { verify } from "hono/jwt";
import { z } from "zod";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./problem.ts";

export const ROLES = ["admin", "officer", "citizen", "employer", "retailer", "service"] as const;
export type Role = (typeof ROLES)[number];

/** Who the bearer token says is calling. */
export interface Principal {
  sub: string;
  roles: Role[];
  employerId?: string;
}

const claimsSchema = z.object({
  sub: z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String),
  roles: z.array(z.enum(ROLES)).default([]),
  employerId: z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String).optional(),
});

function tokenFrom(c: Context): string | undefined {
  const header = c.req.header("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError("unauthorized", "Authorization must be 'Bearer <token>'");
    return match[1];
  }
  // Browsers cannot set headers on a WebSocket handshake, so sockets pass the token in the query.
  return c.req.query("token") || undefined;
}

/**
 * Reads an optional HS256 bearer token (header, or `?token=` for sockets) and sets `principal`.
 * A present but bad token is 401 everywhere, even on public endpoints, so clients learn early.
 *
 * @example
 * app.use(authenticate());
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = tokenFrom(c);
    if (token) {
      let payload: unknown;
      try {
        payload = await verify(token, c.env.JWT_SECRET, "HS256");
      } catch {
        throw new ApiError("unauthorized", "token is invalid or expired");
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new ApiError("unauthorized", "token claims are malformed");
      c.set("principal", claims.data);
    }
    await next();
  };
}

/** The caller, or 401 when the request carried no token. */
export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (!principal) throw new ApiError("unauthorized", "this endpoint needs a bearer token");
  return principal;
}

/**
 * Lets the request through only for callers holding one of `roles`.
 *
 * @example
 * campaigns.use("/campaigns", requireRole("admin"));
 */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    assertRole(c, ...roles);
    await next();
  };
}

export function assertRole(c: Context<AppEnv>, ...roles: Role[]): Principal {
  const principal = principalOf(c);
  if (!principal.roles.some((role) => roles.includes(role))) {
    throw new ApiError("forbidden", `needs role ${roles.join(" or ")}`);
  }
  return principal;
}

/** The user themself or an admin; anyone else is 403. */
export function assertSelfOrAdmin(c: Context<AppEnv>, userId: string): Principal {
  const principal = principalOf(c);
  if (principal.sub !== userId && !principal.roles.includes("admin")) {
    throw new ApiError("forbidden", "only the user or an admin may read this");
  }
  return principal;
}

/** An admin, or an employer whose token carries this employerId. */
export function assertEmployerOrAdmin(c: Context<AppEnv>, employerId: string): Principal {
  const principal = principalOf(c);
  if (principal.roles.includes("admin")) return principal;
  if (principal.roles.includes("employer") && principal.employerId === employerId) return principal;
  throw new ApiError("forbidden", "only that employer or an admin may do this");
}
