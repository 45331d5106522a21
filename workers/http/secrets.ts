import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./problem.ts";

/**
 * The values `.dev.vars.example` publishes. Anyone can read them, so a Worker that is not in local
 * mode (`LOCAL_MODE="true"`) refuses to use them.
 */
export const EXAMPLE_SECRETS = {
  JWT_SECRET: "dev-only-jwt-secret-change-me",
  VOUCHER_SECRET: "dev-only-voucher-secret-change-me",
  WEBHOOK_ENCRYPTION_KEY: "dev-only-webhook-encryption-key-change-me",
} as const;

export type SecretName = keyof typeof EXAMPLE_SECRETS;

/**
 * Whether this Worker runs locally (`npm start`, `npm run serve`, the tests): the var `LOCAL_MODE`
 * is `"true"`. The local scripts and the test bindings set it; wrangler.toml's production vars
 * leave it unset. It is a deployment setting, never read from a request: a client chooses the
 * `Host` header it sends, so a host name cannot tell local from deployed.
 */
export function isLocalMode(env: Env): boolean {
  return (env as { LOCAL_MODE?: string }).LOCAL_MODE === "true";
}

/**
 * The secret `name`, or a 503 problem when it is unset, empty, or the public example value outside
 * local mode (`isLocalMode`) — checked before anything changes, so a misconfigured server never
 * half-does a request.
 *
 * @example
 * const key = secretFor(c.env, "VOUCHER_SECRET");
 */
export function secretFor(env: Env, name: SecretName): string {
  const value = (env as Partial<Record<SecretName, string>>)[name];
  if (!value) throw new ApiError("unavailable", `server misconfigured: ${name} is not set`);
  if (value === EXAMPLE_SECRETS[name] && !isLocalMode(env)) {
    throw new ApiError(
      "unavailable",
      `server misconfigured: ${name} is the public example value from .dev.vars.example, accepted only in local mode (LOCAL_MODE="true")`,
    );
  }
  return value;
}

/**
 * Refuses requests on the path it is mounted on with 503 before anything runs when secret `name`
 * is unusable (see `secretFor`): a redemption must never debit points and then fail to sign.
 *
 * @example
 * app.use("/redemptions", requireSecret("VOUCHER_SECRET"));
 */
export function requireSecret(name: SecretName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    secretFor(c.env, name);
    await next();
  };
}
