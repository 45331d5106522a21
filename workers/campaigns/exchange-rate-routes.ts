import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { exchangeRatesInputSchema } from "../../shared/campaigns.ts";
import { currencyDigits } from "../../shared/money.ts";
import { isoUtcSchema, toIso } from "../../shared/time.ts";
import { requireRole } from "../http/auth.ts";
import { ApiError } from "../http/problem.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses } from "../http/router.ts";
import { putRates, ratesInForce } from "./exchange-rates.ts";

/** The exchange rates that convert purchases into a campaign's currency, mounted at `/exchange-rates`. */
export const exchangeRateRoutes = createRouter();

const ratesResponse = z
  .object({
    base: z.string(),
    at: z.string(),
    rates: z.record(z.string(), z.string()),
    effectiveFrom: z.record(z.string(), z.string()),
  })
  .meta({ id: "ExchangeRates" });

exchangeRateRoutes.openapi(
  createRoute({
    method: "put",
    path: "/",
    operationId: "setExchangeRates",
    tags: ["campaigns"],
    summary: "Store rates `1 base = rate quote` from effectiveFrom (admin)",
    security: bearer,
    middleware: [requireRole("admin")],
    request: { body: jsonBody(exchangeRatesInputSchema) },
    responses: {
      200: jsonResponse(z.object({ base: z.string(), rates: z.record(z.string(), z.string()), effectiveFrom: z.string() }), "Stored"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const unknown = [input.base, ...Object.keys(input.rates)].filter((code) => currencyDigits(code) === undefined);
    if (unknown.length > 0) {
      const errors = unknown.map((code) => ({ path: code === input.base ? "base" : `rates.${code}`, message: `unknown currency ${code}` }));
      throw new ApiError("unprocessable", `unknown currency ${unknown.join(", ")}`, { errors });
    }
    if (input.base in input.rates) {
      throw new ApiError("validation_failed", "a currency has no rate to itself", {
        errors: [{ path: `rates.${input.base}`, message: "must differ from base" }],
      });
    }
    await putRates(c.env.DB, input.base, input.rates, input.effectiveFrom);
    return c.json({ base: input.base, rates: input.rates, effectiveFrom: toIso(input.effectiveFrom) }, 200);
  },
);

exchangeRateRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "getExchangeRates",
    tags: ["campaigns"],
    summary: "The rates of a base currency in force at a moment",
    security: [],
    request: {
      query: z.object({
        base: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
        at: isoUtcSchema.optional(),
      }),
    },
    responses: { 200: jsonResponse(ratesResponse, "Rates in force"), ...problemResponses },
  }),
  async (c) => {
    const { base, at = Date.now() } = c.req.valid("query");
    const rows = await ratesInForce(c.env.DB, base, at);
    return c.json(
      {
        base,
        at: toIso(at),
        rates: Object.fromEntries(rows.map((row) => [row.quote, row.rate])),
        effectiveFrom: Object.fromEntries(rows.map((row) => [row.quote, toIso(row.effectiveFrom)])),
      },
      200,
    );
  },
);
