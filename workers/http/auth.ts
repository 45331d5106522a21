import type { Context, MiddlewareHandler } from "hono";
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import type { AppEnv } from "./env.ts";
import { oidcConfig, type OidcConfig } from "./oidc.ts";
import { ApiError } from "./problem.ts";
import { secretFor } from "./secrets.ts";

export const ROLES = ["admin", "officer", "citizen", "employer", "retailer", "service"] as const;
export type Role = (typeof ROLES)[number];

/** Who the bearer token says is calling. */
export interface Principal {
  /** A canonical user id, except for a token whose only role is `service`: then the upstream system's name. */
  sub: string;
  roles: Role[];
  employerId?: string;
  retailerId?: string;
}

declare module "hono" {
  interface ContextVariableMap {
    principal?: Principal;
  }
}

/**
 * The WebSocket routes, the only ones that read `?token=`: browsers cannot set headers on a
 * WebSocket handshake. Anywhere else a token in the URL (where logs and proxies keep it) is 401.
 */
export const SOCKET_ROUTES: readonly RegExp[] = [/^\/records\/live\/[^/]+$/, /^\/presence\/[^/]+$/, /^\/nearby\/[^/]+$/];

/** A user id as the seeds write it: decimal digits, no leading zero, a safe integer. */
const CANONICAL_USER_ID = /^(0|[1-9]\d{0,15})$/;
const isUserId = (sub: string) => CANONICAL_USER_ID.test(sub) && Number.isSafeInteger(Number(sub));

const isServiceOnly = (roles: readonly Role[]) => roles.length > 0 && roles.every((role) => role === "service");

const idClaim = z.union([z.string().min(1).max(256), z.number().int().nonnegative()]).transform(String);

/** Claims after the signature, `exp` (and for OIDC `iss`, `aud`) are checked. `roles` is read by the caller. */
const claimsSchema = z
  .object({
    sub: z.string().min(1).max(256),
    roles: z.array(z.enum(ROLES)),
    employerId: idClaim.optional(),
    retailerId: idClaim.optional(),
  })
  .refine(
    (claims) => isServiceOnly(claims.roles) || isUserId(claims.sub),
    "sub must be a user id (decimal digits, no leading zero) unless the token's only role is service",
  );

const HS256 = ["HS256"];
const OIDC_ALGORITHMS = ["RS256", "ES256"];

function unauthorized(detail: string): ApiError {
  return new ApiError("unauthorized", detail);
}

function tokenFrom(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const inQuery = c.req.query("token");
  if (inQuery !== undefined && !SOCKET_ROUTES.some((route) => route.test(c.req.path))) {
    throw unauthorized("?token= is accepted only on WebSocket routes; send 'Authorization: Bearer <token>'");
  }
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized("Authorization must be 'Bearer <token>'");
    return match[1];
  }
  return inQuery || undefined;
}

/** Runs a jose verification, turning any of its refusals into 401 (our own ApiErrors pass through). */
async function verified(run: () => Promise<{ payload: JWTPayload }>): Promise<JWTPayload> {
  try {
    return (await run()).payload;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof errors.JWTExpired) throw unauthorized("token has expired");
    if (error instanceof errors.JOSEError) throw unauthorized(`token is invalid: ${error.message}`);
    throw error;
  }
}

function oidcRoles(payload: JWTPayload, claim: string): Role[] {
  const value = payload[claim];
  const names = typeof value === "string" ? value.split(/\s+/) : Array.isArray(value) ? value : [];
  // An identity provider holds groups of other applications too: only Tally's role names count.
  return names.filter((name): name is Role => (ROLES as readonly unknown[]).includes(name));
}

function principalFrom(payload: JWTPayload, roles: unknown): Principal {
  const claims = claimsSchema.safeParse({ ...payload, roles });
  if (!claims.success) throw unauthorized(`token claims are malformed: ${claims.error.issues[0]?.message ?? ""}`);
  const { sub, employerId, retailerId } = claims.data;
  return {
    sub,
    roles: claims.data.roles,
    ...(employerId === undefined ? {} : { employerId }),
    ...(retailerId === undefined ? {} : { retailerId }),
  };
}

async function verifyOidc(token: string, oidc: OidcConfig): Promise<Principal> {
  // Checked before any key is looked up, so a foreign token never makes us fetch the issuer's JWKS.
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw unauthorized("token is malformed");
  }
  if (issuer !== oidc.issuer) throw unauthorized("token issuer is not the configured OIDC_ISSUER");
  const payload = await verified(() =>
    jwtVerify(token, oidc.keys, {
      algorithms: OIDC_ALGORITHMS,
      issuer: oidc.issuer,
      audience: oidc.audience,
      requiredClaims: ["exp", "sub"],
    }),
  );
  return principalFrom(payload, oidcRoles(payload, oidc.rolesClaim));
}

/**
 * HS256 tokens this isolate has verified, until their `exp`: a backend sends the same service token
 * with every event, and verifying it anew (key import, HMAC, claims) was a large share of an ingest
 * request's CPU. Keyed by the secret too, so a rotated secret verifies afresh; bounded, oldest out.
 */
const verifiedTokens = new Map<string, { principal: Principal; expiresAt: number }>();
const MAX_VERIFIED_TOKENS = 1_000;

/** The principal of an HS256 token this isolate verified under `secret` and that has not expired yet. */
function alreadyVerified(token: string, secret: string): Principal | undefined {
  const known = verifiedTokens.get(`${secret}\n${token}`);
  return known && known.expiresAt > Date.now() ? known.principal : undefined;
}

/** Verifies an HS256 token that `alreadyVerified` did not know (the caller looks first) and remembers it. */
async function verifyHs256(token: string, secret: string): Promise<Principal> {
  const cacheKey = `${secret}\n${token}`;
  // An expired entry goes, so the new one is the newest in the map's order.
  verifiedTokens.delete(cacheKey);
  const payload = await verified(() => jwtVerify(token, new TextEncoder().encode(secret), { algorithms: HS256, requiredClaims: ["exp"] }));
  const principal = principalFrom(payload, payload.roles ?? []);
  if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) verifiedTokens.delete(verifiedTokens.keys().next().value!);
  // jwtVerify required `exp` and checked `nbf`: once valid, a token stays valid until it expires.
  verifiedTokens.set(cacheKey, { principal, expiresAt: payload.exp! * 1000 });
  return principal;
}

/**
 * Verifies a bearer token: HS256 under `JWT_SECRET`, or RS256/ES256 of the OIDC issuer when
 * `OIDC_ISSUER` is set. Any other algorithm (`none` included) is refused, and the algorithm in the
 * header only picks which key to try: an HS256 token is never checked against an issuer's public key.
 */
async function verifyToken(token: string, c: Context<AppEnv>): Promise<Principal> {
  // Only a token verified as HS256 under this secret is cached, so a hit skips decoding the header;
  // secretFor still refuses a secret this host may not use, as a first verification would.
  const secret = (c.env as { JWT_SECRET?: string }).JWT_SECRET;
  const known = secret ? alreadyVerified(token, secret) : undefined;
  if (known && secretFor(c.env, "JWT_SECRET")) return known;
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized("token is malformed");
  }
  if (alg === "HS256") return verifyHs256(token, secretFor(c.env, "JWT_SECRET"));
  if (alg !== undefined && OIDC_ALGORITHMS.includes(alg)) {
    const oidc = oidcConfig(c.env);
    if (!oidc) throw unauthorized(`${alg} tokens are accepted only when an OIDC issuer is configured`);
    return verifyOidc(token, oidc);
  }
  throw unauthorized(`token algorithm ${String(alg)} is not accepted`);
}

/**
 * Reads an optional bearer token (the header, or `?token=` on WebSocket routes) and sets `principal`.
 * A present but bad token is 401 everywhere, even on public endpoints, so clients learn early.
 *
 * @example
 * app.use(authenticate());
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = tokenFrom(c);
    if (token) c.set("principal", await verifyToken(token, c));
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

/** The caller when they hold one of `roles`; 401 without a token, 403 without the role. */
export function assertRole(c: Context<AppEnv>, ...roles: Role[]): Principal {
  const principal = principalOf(c);
  if (!principal.roles.some((role) => roles.includes(role))) {
    throw new ApiError("forbidden", `needs role ${roles.join(" or ")}`);
  }
  return principal;
}

/**
 * Whether the caller is the user `userId` itself: the token's `sub` names that user and the token
 * is a user's. A service-only token's `sub` is free text (a backend's name), so one that happens
 * to spell a user id is not that user. Every check of "the caller's own data" goes through here.
 */
export function isUser(principal: Principal, userId: string): boolean {
  return principal.sub === userId && !isServiceOnly(principal.roles);
}

/**
 * The user themself or an admin; anyone else is 403. A service token's `sub` names a system, not a
 * user, so it is never "the user" even when that name happens to be digits.
 */
export function assertSelfOrAdmin(c: Context<AppEnv>, userId: string): Principal {
  const principal = principalOf(c);
  if (!isUser(principal, userId) && !principal.roles.includes("admin")) {
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
