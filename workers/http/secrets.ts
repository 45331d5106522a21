import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./problem.ts";

/**
 * The values `.dev.vars.example` publishes. Anyone can read them, so a Worker that is reached under
 * another host name than the local machine's refuses to use them.
 */
export const EXAMPLE_SECRETS = {
  JWT_SECRET: "dev-only-jwt-secret-change-me",
  VOUCHER_SECRET: "dev-only-voucher-secret-change-me",
  WEBHOOK_ENCRYPTION_KEY: "dev-only-webhook-encryption-key-change-me",
} as const;

export type SecretName = keyof typeof EXAMPLE_SECRETS;

/** Host names of local development (`npm start`, `wrangler dev`), where the example secrets are fine. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The secret `name`, or a 503 problem when it is unset, empty, or the public example value on a
 * host other than the local machine — checked before anything changes, so a misconfigured server
 * never half-does a request.
 *
 * @example
 * const key = secretFor(c.env, c.req.url, "VOUCHER_SECRET");
 */
export function secretFor(env: Env, url: string, name: SecretName): string {
  const value = (env as Partial<Record<SecretName, string>>)[name];
  if (!value) throw new ApiError("unavailable", `server misconfigured: ${name} is not set`);
  if (value === EXAMPLE_SECRETS[name] && !LOCAL_HOSTS.has(new URL(url).hostname)) {
    throw new ApiError(
      "unavailable",
      `server misconfigured: ${name} is the public example value from .dev.vars.example, accepted only on localhost`,
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
    secretFor(c.env, c.req.url, name);
    await next();
  };
}
