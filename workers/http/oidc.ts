import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey } from "jose";
import { ApiError } from "./problem.ts";

/** Where an OpenID Connect issuer is configured: whom to trust and where its keys are. */
export interface OidcConfig {
  issuer: string;
  audience: string;
  rolesClaim: string;
  keys: JWTVerifyGetKey;
}

/** The issuer's JWKS is kept this long before it is fetched again. */
const JWKS_MAX_AGE_MS = 10 * 60 * 1000;
/**
 * A token with an unknown `kid` fetches the JWKS again (the issuer may have rotated its keys), but
 * at most once a second per isolate, so a flood of made-up `kid`s cannot flood the issuer.
 */
const JWKS_REFETCH_COOLDOWN_MS = 1000;

// One key set per JWKS source per isolate; jose keeps the fetched keys and their age inside it.
const keySets = new Map<string, JWTVerifyGetKey>();

function misconfigured(detail: string, cause?: unknown): ApiError {
  return new ApiError("unavailable", `server misconfigured: ${detail}`, { cause });
}

function inlineKeys(json: string): JWTVerifyGetKey {
  const key = `inline:${json}`;
  let keys = keySets.get(key);
  if (!keys) {
    try {
      keys = createLocalJWKSet(JSON.parse(json));
    } catch (error) {
      throw misconfigured("OIDC_JWKS is not a JSON Web Key Set", error);
    }
    keySets.set(key, keys);
  }
  return keys;
}

function remoteKeys(url: string): JWTVerifyGetKey {
  const key = `url:${url}`;
  let keys = keySets.get(key);
  if (!keys) {
    let remote: JWTVerifyGetKey;
    try {
      remote = createRemoteJWKSet(new URL(url), { cacheMaxAge: JWKS_MAX_AGE_MS, cooldownDuration: JWKS_REFETCH_COOLDOWN_MS });
    } catch (error) {
      throw misconfigured("OIDC_JWKS_URL is not a URL", error);
    }
    // A key that is not in the set is the token's fault (401); an issuer we cannot reach is ours (503).
    keys = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new ApiError("unavailable", "the identity provider's keys (OIDC_JWKS_URL) could not be fetched", { cause: error });
      }
    };
    keySets.set(key, keys);
  }
  return keys;
}

/**
 * The OpenID Connect settings, or undefined when `OIDC_ISSUER` is not set (then only HS256 tokens
 * are accepted). A half-configured issuer is a 503 problem naming the missing var.
 *
 * @example
 * const oidc = oidcConfig(c.env);
 */
export function oidcConfig(env: Env): OidcConfig | undefined {
  const vars = env as Partial<Record<"OIDC_ISSUER" | "OIDC_AUDIENCE" | "OIDC_JWKS" | "OIDC_JWKS_URL" | "OIDC_ROLES_CLAIM", string>>;
  if (!vars.OIDC_ISSUER) return undefined;
  if (!vars.OIDC_AUDIENCE) throw misconfigured("OIDC_ISSUER is set but OIDC_AUDIENCE is not");
  let keys: JWTVerifyGetKey;
  if (vars.OIDC_JWKS) keys = inlineKeys(vars.OIDC_JWKS);
  else if (vars.OIDC_JWKS_URL) keys = remoteKeys(vars.OIDC_JWKS_URL);
  else throw misconfigured("OIDC_ISSUER is set but neither OIDC_JWKS nor OIDC_JWKS_URL is");
  return { issuer: vars.OIDC_ISSUER, audience: vars.OIDC_AUDIENCE, rolesClaim: vars.OIDC_ROLES_CLAIM || "roles", keys };
}
