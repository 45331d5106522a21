import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { z } from "zod";
import type { LogSystem } from "../shared/log.ts";
import { adminRoutes } from "./admin/routes.ts";
import { adRoutes } from "./ads/routes.ts";
import { campaignRoutes } from "./campaigns/catalogue-routes.ts";
import { exchangeRateRoutes } from "./campaigns/exchange-rate-routes.ts";
import { purchaseRoutes, recordRoutes } from "./campaigns/scoring-routes.ts";
import { walletRoutes } from "./campaigns/wallet-routes.ts";
import { profileRoutes } from "./users/profile-routes.ts";
import { nearbyRoutes, officerRoutes, presenceRoutes } from "./connections/presence-routes.ts";
import { connectionRoutes, reportRoutes } from "./connections/request-routes.ts";
import { charityRoutes, donationRoutes, offerRoutes, redemptionRoutes, rewardReportRoutes, voucherRoutes } from "./connections/reward-routes.ts";
import { authenticate } from "./http/auth.ts";
import { jsonBodies } from "./http/content.ts";
import type { AppEnv } from "./http/env.ts";
import { corsFromEnv, securityHeaders } from "./http/headers.ts";
import { ApiError, handleError, problemResponse } from "./http/problem.ts";
import { rateLimit } from "./http/rate-limit.ts";
import { MAX_REQUEST_ID_LENGTH, requestIdFromTrace } from "./http/request-id.ts";
import { requireSecret } from "./http/secrets.ts";
import { jsonResponse, problemResponses } from "./http/router.ts";
import { validationHook } from "./http/validation.ts";
import { recordMetric } from "./metrics.ts";
import { pageRoutes } from "./pages.ts";
import { employerIncentiveRoutes, incentiveRoutes, userIncentiveRoutes } from "./incentives/routes.ts";
import { aggregateRoutes, userProfileRoutes, userTagRoutes } from "./user-tags/routes.ts";
import { webhookRoutes } from "./webhooks/routes.ts";

/**
 * The per-caller rate limits, as data so that a test can check that each limited operation declares
 * its 429 (`rateLimitedResponses`).
 */
export const rateLimits = [
  { path: "/officers/nearby", method: "GET", binding: "NEARBY_RATE_LIMIT", perMinute: "RATE_NEARBY_PER_MINUTE" },
  { path: "/connections", method: "POST", binding: "CONNECTIONS_RATE_LIMIT", perMinute: "RATE_CONNECTIONS_PER_MINUTE" },
  { path: "/redemptions", method: "POST", binding: "REWARDS_RATE_LIMIT", perMinute: "RATE_REWARDS_PER_MINUTE" },
  { path: "/donations", method: "POST", binding: "REWARDS_RATE_LIMIT", perMinute: "RATE_REWARDS_PER_MINUTE" },
] as const;

/** The system a route pattern belongs to, for its metrics (the first path segment decides). */
function systemOfRoute(route: string): LogSystem {
  const first = route.split("/")[1] ?? "";
  if (["campaigns", "purchases", "records", "exchange-rates"].includes(first)) return "campaigns";
  if (["user_tags", "user_profiles", "aggregates"].includes(first)) return "allezon";
  if (first === "ads") return "ads";
  if (["incentives", "employers"].includes(first)) return "incentives";
  if (["presence", "nearby", "officers", "connections", "reports", "offers", "charities", "redemptions", "vouchers", "donations"].includes(first)) return "connections";
  if (route.startsWith("/admin/webhooks")) return "webhooks";
  // `/users/...` is shared by wallets, profiles and incentives; it and the rest count as the platform's.
  return "platform";
}

/** The Hono app: cross-cutting middleware, then one router per resource. */
export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// A well-formed incoming x-request-id is kept, else a traceparent's trace id, else a new UUID.
app.use(requestId({ limitLength: MAX_REQUEST_ID_LENGTH, generator: requestIdFromTrace }));
// One data point per request (workers/metrics.ts), by route pattern so ids do not split the series.
app.use(async (c, next) => {
  const startedAt = Date.now();
  await next();
  const route = routePath(c, -1);
  recordMetric(c.env, {
    system: systemOfRoute(route),
    kind: "request",
    name: route,
    detail: c.req.method,
    status: c.res.status,
    ms: Date.now() - startedAt,
  });
});
app.use(securityHeaders());
// Before the 405 check, which would refuse the OPTIONS preflight.
app.use(corsFromEnv());
app.use(methodNotAllowed({
  app,
  onMethodNotAllowed: (c, allowed) =>
    problemResponse(c, new ApiError("method_not_allowed", `${c.req.method} is not allowed here`), {
      allow: allowed.join(", "),
    }),
}));
app.use(jsonBodies());
// Vouchers are signed and checked with VOUCHER_SECRET: without it, refuse before any debit.
app.use("/redemptions", requireSecret("VOUCHER_SECRET"));
app.use("/vouchers/*", requireSecret("VOUCHER_SECRET"));
app.use(authenticate());
// Per caller (token sub), after authentication and before the routes' own checks.
for (const limit of rateLimits) app.use(limit.path, rateLimit(limit.method, limit.binding, limit.perMinute));

app.openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    tags: ["operations"],
    summary: "Liveness: the Worker answers",
    security: [],
    responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "Up"), ...problemResponses },
  }),
  (c) => c.json({ status: "ok" as const }, 200),
);

// One router per resource, each mounted at its own prefix; its routes' paths are relative to it.
// Several features own paths under `/users/{userId}`, so that prefix has one router per feature.
// Scoring campaigns
app.route("/campaigns", campaignRoutes);
app.route("/purchases", purchaseRoutes);
app.route("/records", recordRoutes);
app.route("/exchange-rates", exchangeRateRoutes);
app.route("/users", walletRoutes);
app.route("/users", profileRoutes);
// Allezon
app.route("/user_tags", userTagRoutes);
app.route("/user_profiles", userProfileRoutes);
app.route("/aggregates", aggregateRoutes);
// Ads
app.route("/ads", adRoutes);
// Employee incentives
app.route("/incentives", incentiveRoutes);
app.route("/employers", employerIncentiveRoutes);
app.route("/users", userIncentiveRoutes);
// Officer-citizen connections and rewards
app.route("/presence", presenceRoutes);
app.route("/nearby", nearbyRoutes);
app.route("/officers", officerRoutes);
app.route("/connections", connectionRoutes);
app.route("/reports", reportRoutes);
app.route("/reports", rewardReportRoutes);
app.route("/offers", offerRoutes);
app.route("/charities", charityRoutes);
app.route("/redemptions", redemptionRoutes);
app.route("/vouchers", voucherRoutes);
app.route("/donations", donationRoutes);
// Operators
app.route("/admin", adminRoutes);
app.route("/admin", webhookRoutes);

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  bearerFormat: "JWT",
  description:
    "JWT: HS256 signed with JWT_SECRET or, where OIDC_ISSUER is set, RS256/ES256 of that issuer (key by kid in its " +
    "JWKS; iss and aud checked). Claims: sub (a user id, or the upstream system for a service-only token), roles[] " +
    "(admin, officer, citizen, employer, retailer, service), employerId, retailerId, exp (required). " +
    "?token= is read only on WebSocket routes.",
});
/** What /openapi.json says beyond the routes; `npm run lint:api` and `npm run api:client` read the same. */
export const openApiConfig: Parameters<typeof app.getOpenAPI31Document>[0] = {
  openapi: "3.1.0",
  info: {
    title: "Tally",
    version: "0.1.0",
    description:
      "Edge engagement engine: campaign leaderboards, Allezon analytics, ad budgets, employee incentives and " +
      "officer-citizen connections. Errors are application/problem+json (RFC 9457).",
  },
  servers: [{ url: "http://localhost:8787", description: "Local: npm start or npm run serve" }],
  tags: [
    { name: "campaigns", description: "Scoring campaigns: catalogue, purchases, leaderboards" },
    { name: "wallet", description: "A user's points and prize money" },
    { name: "Allezon", description: "Allezon analytics: user tags, profiles, aggregates" },
    { name: "ads", description: "Ad campaigns and the events they are charged for" },
    { name: "incentives", description: "Employee incentives" },
    { name: "connections", description: "Officer-citizen presence, connections and reports" },
    { name: "rewards", description: "Offers, charities, redemptions, vouchers and donations" },
    { name: "admin", description: "Operators" },
    { name: "operations", description: "Health of the Worker" },
  ],
};
app.doc31("/openapi.json", openApiConfig);
// The pages and /docs (Swagger UI), their files served by Tally from its static assets.
app.route("/", pageRoutes);

app.notFound((c) => problemResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`)));
app.onError(handleError);
