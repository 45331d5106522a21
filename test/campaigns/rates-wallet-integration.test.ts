import { describe, expect, it } from "vitest";
import { CURRENCY_DIGITS } from "../../shared/money.ts";
import { adminToken, callJson, eventually, serviceToken, tokenFor } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";

const HOUR = 3_600_000;

describe("exchange rates", () => {
  it("stores rates and answers the ones in force at a moment", async () => {
    const token = await adminToken();
    const put = await callJson("PUT", "/exchange-rates", {
      token,
      body: { base: "GBP", rates: { USD: "1.2500", JPY: 190 }, effectiveFrom: "2026-01-01T00:00:00Z" },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ base: "GBP", rates: { USD: "1.2500", JPY: "190" }, effectiveFrom: "2026-01-01T00:00:00.000Z" });
    await callJson("PUT", "/exchange-rates", { token, body: { base: "GBP", rates: { USD: "1.3000" }, effectiveFrom: "2026-06-01T00:00:00Z" } });
    const march = await callJson("GET", "/exchange-rates?base=GBP&at=2026-03-01T00:00:00Z");
    expect(march.body).toMatchObject({ base: "GBP", rates: { USD: "1.2500", JPY: "190" } });
    const july = await callJson("GET", "/exchange-rates?base=GBP&at=2026-07-01T00:00:00Z");
    expect(july.body.rates).toEqual({ USD: "1.3000", JPY: "190" });
    expect(july.body.effectiveFrom.USD).toBe("2026-06-01T00:00:00.000Z");
    const before = await callJson("GET", "/exchange-rates?base=GBP&at=2025-01-01T00:00:00Z");
    expect(before.body.rates).toEqual({});
  });

  it("stores 28 rates sent in one PUT, every one readable", async () => {
    const token = await adminToken();
    const quotes = Object.keys(CURRENCY_DIGITS).filter((code) => code !== "SGD").slice(0, 28);
    const rates = Object.fromEntries(quotes.map((quote, i) => [quote, `${i + 1}.2500`]));
    const put = await callJson("PUT", "/exchange-rates", { token, body: { base: "SGD", rates, effectiveFrom: "2026-02-01T00:00:00Z" } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const read = await callJson("GET", "/exchange-rates?base=SGD&at=2026-02-01T00:00:00Z");
    expect(read.status).toBe(200);
    expect(read.body.rates).toEqual(rates);
    expect(Object.keys(read.body.rates)).toHaveLength(28);
  });

  it("overwrites a rate sent again with the same effectiveFrom, and converts the next purchase with it", async () => {
    const token = await adminToken();
    const effectiveFrom = new Date(Date.now() - 2 * HOUR).toISOString();
    const first = await callJson("PUT", "/exchange-rates", { token, body: { base: "PLN", rates: { CZK: "5.0000" }, effectiveFrom } });
    expect(first.status).toBe(200);
    const corrected = await callJson("PUT", "/exchange-rates", { token, body: { base: "PLN", rates: { CZK: "6.0000" }, effectiveFrom } });
    expect(corrected.status).toBe(200);
    expect(corrected.body.rates).toEqual({ CZK: "6.0000" });
    const read = await callJson("GET", `/exchange-rates?base=PLN&at=${encodeURIComponent(new Date().toISOString())}`);
    expect(read.body.rates).toEqual({ CZK: "6.0000" });

    // 60.00 CZK at 1 PLN = 6 CZK is 10.00 PLN (the first rate would have made it 12.00).
    const campaign = await createCampaign({ prize: { value: "50.00", currency: "PLN" } });
    const purchase = await callJson("POST", "/purchases", {
      token: await serviceToken(),
      body: {
        userId: "77",
        itemId: campaign.itemId,
        amount: { value: "60.00", currency: "CZK" },
        timestamp: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    expect(purchase.status).toBe(202);
    const top = await eventually(async () => {
      const positions = await topOf(campaign.campaignId);
      return positions.length > 0 ? positions : undefined;
    });
    expect(top).toEqual([{ userId: "77", displayName: null, position: 0, total: { value: "10.00", currency: "PLN" } }]);
  });

  it("rejects bad rates, unknown currencies and non-admins", async () => {
    const token = await adminToken();
    const body = { base: "EUR", rates: { USD: "1.08" }, effectiveFrom: "2026-01-01T00:00:00Z" };
    const negative = await callJson("PUT", "/exchange-rates", { token, body: { ...body, rates: { USD: "-1" } } });
    expect(negative.status).toBe(400);
    expect(negative.body.errors[0].path).toBe("rates.USD");
    const zero = await callJson("PUT", "/exchange-rates", { token, body: { ...body, rates: { USD: "0.000" } } });
    expect(zero.status).toBe(400);
    const empty = await callJson("PUT", "/exchange-rates", { token, body: { ...body, rates: {} } });
    expect(empty.status).toBe(400);
    const unknown = await callJson("PUT", "/exchange-rates", { token, body: { ...body, rates: { XTS: "1" } } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toBe("rates.XTS");
    expect((await callJson("PUT", "/exchange-rates", { body })).status).toBe(401);
    expect((await callJson("PUT", "/exchange-rates", { body, token: await tokenFor(3, ["employer"]) })).status).toBe(403);
    expect((await callJson("GET", "/exchange-rates")).status).toBe(400);
  });
});

describe("GET /users/{userId}/wallet", () => {
  it("shows an empty wallet to its user and an admin, and nobody else", async () => {
    const own = await callJson("GET", "/users/31/wallet", { token: await tokenFor(31, ["citizen"]) });
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ userId: "31", points: 0, money: [], entries: [] });
    expect((await callJson("GET", "/users/31/wallet", { token: await adminToken() })).status).toBe(200);
    expect((await callJson("GET", "/users/31/wallet", { token: await tokenFor(32, ["citizen"]) })).status).toBe(403);
    expect((await callJson("GET", "/users/31/wallet")).status).toBe(401);
  });
});
