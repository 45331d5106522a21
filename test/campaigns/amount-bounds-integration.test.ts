import { describe, expect, it } from "vitest";
import { MAX_AMOUNT_MINOR } from "../../shared/money.ts";
import { adminToken, callJson, serviceToken } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";

const purchase = (value: string, currency = "EUR") => ({
  userId: "42",
  itemId: "7",
  amount: { value, currency },
  timestamp: "2026-01-01T10:00:00Z",
});

describe("amounts are bounded so every total stays exact", () => {
  it("answers 400 naming amount.value for a purchase above 10^12 minor units, and takes one at the bound", async () => {
    const over = await callJson("POST", "/purchases", { body: purchase("10000000000.01"), token: await serviceToken() });
    expect(over.status).toBe(400);
    expect(over.body.errors.map((e: { path: string }) => e.path)).toEqual(["amount.value"]);
    const huge = await callJson("POST", "/purchases", { body: purchase("9007199254740993"), token: await serviceToken() });
    expect(huge.status).toBe(400);
    const yen = await callJson("POST", "/purchases", { body: purchase("1000000000001", "JPY"), token: await serviceToken() });
    expect(yen.status).toBe(400);
    expect((await callJson("POST", "/purchases", { body: purchase("10000000000.00"), token: await serviceToken() })).status).toBe(202);
  });

  it("answers 400 naming prize.value for a prize above the bound", async () => {
    const answer = await callJson("POST", "/campaigns", {
      token: await adminToken(),
      body: {
        itemId: "8",
        prize: { value: "10000000000.01", currency: "EUR" },
        startDateTime: "2026-01-01T00:00:00Z",
        endDateTime: "2026-02-01T00:00:00Z",
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { path: string }) => e.path)).toEqual(["prize.value"]);
  });

  it("does not score a purchase whose conversion passes the bound: it is retried towards the dead letters", async () => {
    const token = await adminToken();
    await callJson("PUT", "/exchange-rates", { token, body: { base: "EUR", rates: { JPY: "160" }, effectiveFrom: "2020-01-01T00:00:00Z" } });
    const campaign = await createCampaign({ prize: { value: "1000", currency: "JPY" } });
    const result = await deliver("qualified-purchase-events", [
      {
        kind: "qualified-purchase",
        purchaseId: "too-big",
        campaignId: campaign.campaignId,
        userId: "3",
        amount: { minor: MAX_AMOUNT_MINOR, currency: "EUR" },
        timestamp: Date.now() - 1000,
      },
    ], { ids: ["too-big"], attempts: 1 });
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["too-big"]);
    expect(result.explicitAcks).toEqual([]);
    expect(await topOf(campaign.campaignId)).toEqual([]);
  });
});
