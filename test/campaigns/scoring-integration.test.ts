import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PurchaseMessage, QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { adminToken, callJson, eventually, serviceToken, tokenFor } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";
import { uniqueId } from "../support/ids.ts";

const now = Date.now();
const at = (offsetMs: number) => now - 600_000 + offsetMs;

function qualified(campaignId: string, userId: string, value: number, currency: string, timestamp: number, purchaseId = crypto.randomUUID()): QualifiedPurchaseMessage {
  return { kind: "qualified-purchase", purchaseId, campaignId, userId, amount: { minor: value, currency }, timestamp };
}

describe("POST /purchases", () => {
  const purchase = (overrides: Record<string, unknown> = {}) => ({
    userId: "42",
    itemId: "7",
    amount: { value: "10.00", currency: "EUR" },
    timestamp: new Date(now).toISOString(),
    ...overrides,
  });

  it("accepts a purchase with 202 and assigns an id when none is sent", async () => {
    const { status, body } = await callJson("POST", "/purchases", { token: await serviceToken(), body: purchase() });
    expect(status).toBe(202);
    expect(body.purchaseId).toMatch(/.+/);
  });

  it("answers a resent id with the first answer, and 409 when the payload differs", async () => {
    const purchaseId = `p-${uniqueId()}`;
    const first = await callJson("POST", "/purchases", { token: await serviceToken(), body: purchase({ purchaseId }) });
    const again = await callJson("POST", "/purchases", { token: await serviceToken(), body: purchase({ purchaseId }) });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const changed = await callJson("POST", "/purchases", { token: await serviceToken(), body: purchase({ purchaseId, amount: { value: "11.00", currency: "EUR" } }) });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe("idempotency_conflict");
  });

  it.each([
    ["userId", { userId: "forty-two" }],
    ["itemId", { itemId: 1.5 }],
    ["amount.value", { amount: { value: "-1.00", currency: "EUR" } }],
    ["amount.value", { amount: { value: "1.001", currency: "EUR" } }],
    ["amount.currency", { amount: { value: "1.00" } }],
    ["timestamp", { timestamp: 1234 }],
    ["purchaseId", { purchaseId: "" }],
  ])("answers 400 naming %s", async (field, patch) => {
    const { status, body } = await callJson("POST", "/purchases", { token: await serviceToken(), body: purchase(patch) });
    expect(status).toBe(400);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(field);
  });

  it("flows through the queues to the leaderboard", async () => {
    const campaign = await createCampaign();
    await callJson("POST", "/purchases", {
      token: await serviceToken(),
      body: purchase({ userId: "501", itemId: campaign.itemId, amount: { value: "12.34", currency: "EUR" } }),
    });
    const top = await eventually(async () => {
      const positions = await topOf(campaign.campaignId);
      return positions.length > 0 ? positions : undefined;
    });
    expect(top).toEqual([{ userId: "501", displayName: null, position: 0, total: { value: "12.34", currency: "EUR" } }]);
  });
});

describe("qualification", () => {
  it("qualifies by item and event time, for every matching campaign", async () => {
    const itemId = uniqueId();
    // Windows ahead of now, so no board settles while the test runs.
    const base = Date.now() + 60_000;
    const t = (offset: number) => base + offset;
    const a = await createCampaign({ itemId, start: t(0), end: t(300_000) });
    const b = await createCampaign({ itemId, start: t(100_000), end: t(400_000) });
    const other = await createCampaign({ start: t(0), end: t(400_000) });
    const purchase = (purchaseId: string, timestamp: number): PurchaseMessage => ({
      kind: "purchase", purchaseId, userId: "9", itemId, amount: { minor: 500, currency: "EUR" }, timestamp,
    });
    const result = await deliver("purchase-events", [
      purchase("early", t(50_000)),
      purchase("both", t(200_000)),
      purchase("late", t(350_000)),
      purchase("after", t(400_000)),
    ]);
    expect(result.explicitAcks.length).toBe(4);
    // The qualified messages go out on the real queue: a gets early+both, b gets both+late
    // (the end is exclusive, so "after" counts for neither).
    await eventually(async () => {
      const [topA, topB] = await Promise.all([topOf(a.campaignId), topOf(b.campaignId)]);
      return topA[0]?.total.value === "10.00" && topB[0]?.total.value === "10.00" ? true : undefined;
    });
    expect(await topOf(other.campaignId)).toEqual([]);
  });
});

describe("the leaderboard", () => {
  it("ranks by total, ties to whoever reached the total first, then the smaller user id", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [
      qualified(id, "30", 1000, "EUR", at(3000)),
      qualified(id, "20", 1000, "EUR", at(1000)),
      qualified(id, "10", 1000, "EUR", at(3000)),
      qualified(id, "40", 400, "EUR", at(500)),
      qualified(id, "40", 700, "EUR", at(4000)),
    ]);
    const top = await topOf(id);
    expect(top.map((p) => [p.userId, p.position, p.total.value])).toEqual([
      ["40", 0, "11.00"],
      ["20", 1, "10.00"],
      ["10", 2, "10.00"],
      ["30", 3, "10.00"],
    ]);
  });

  it("uses the latest event time behind a total, whatever order the purchases arrived in", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    // User 1 reaches 10.00 with a purchase at t=5000 that arrives first, then an older one at t=1000.
    await deliver("qualified-purchase-events", [qualified(id, "1", 600, "EUR", at(5000))]);
    await deliver("qualified-purchase-events", [qualified(id, "1", 400, "EUR", at(1000))]);
    // User 2 reaches 10.00 at t=4000.
    await deliver("qualified-purchase-events", [qualified(id, "2", 1000, "EUR", at(4000))]);
    expect((await topOf(id)).map((p) => p.userId)).toEqual(["2", "1"]);
  });

  it("converts other currencies with the rate in force at the event time, half-even, once per purchase", async () => {
    const token = await adminToken();
    const campaign = await createCampaign({ prize: { value: "50.00", currency: "EUR" } });
    const id = campaign.campaignId;
    await callJson("PUT", "/exchange-rates", { token, body: { base: "USD", rates: { EUR: "0.9215" }, effectiveFrom: new Date(at(0)).toISOString() } });
    await callJson("PUT", "/exchange-rates", { token, body: { base: "USD", rates: { EUR: "0.9225" }, effectiveFrom: new Date(at(10_000)).toISOString() } });
    await callJson("PUT", "/exchange-rates", { token, body: { base: "EUR", rates: { JPY: "160" }, effectiveFrom: new Date(at(0)).toISOString() } });
    await deliver("qualified-purchase-events", [
      qualified(id, "1", 1000, "USD", at(5000)), // 9.215 → 9.22 (rate 0.9215)
      qualified(id, "2", 1000, "USD", at(20_000)), // 9.225 → 9.22 (rate 0.9225, ties to even)
      qualified(id, "3", 1000, "JPY", at(5000)), // 1000 / 160 = 6.25 via the inverse of EUR→JPY
      qualified(id, "3", 1000, "JPY", at(6000)), // again 6.25: rounding happens per purchase
    ]);
    const totals = Object.fromEntries((await topOf(id)).map((p) => [p.userId, p.total.value]));
    expect(totals).toEqual({ "1": "9.22", "2": "9.22", "3": "12.50" });
  });

  it("counts a purchase id once, whether resent or redelivered in a batch", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    const batch = [qualified(id, "7", 250, "EUR", at(1000), "dup-1"), qualified(id, "7", 250, "EUR", at(2000), "dup-2")];
    await deliver("qualified-purchase-events", batch);
    await deliver("qualified-purchase-events", batch);
    await deliver("qualified-purchase-events", [batch[0]!, batch[0]!]);
    expect(await topOf(id)).toEqual([{ userId: "7", displayName: null, position: 0, total: { value: "5.00", currency: "EUR" } }]);
  });

  it("retries a purchase whose rate is missing and applies the rest of the batch", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    const result = await deliver("qualified-purchase-events", [
      qualified(id, "1", 100, "CHF", at(1000), "no-rate"),
      qualified(id, "2", 300, "EUR", at(1000), "fine"),
    ], { ids: ["m-no-rate", "m-fine"] });
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-no-rate"]);
    expect(result.explicitAcks).toEqual(["m-fine"]);
    expect((await topOf(id)).map((p) => p.userId)).toEqual(["2"]);
  });

  it("answers the same after the board is evicted and rebuilt from SQLite", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", Array.from({ length: 50 }, (_, i) => qualified(id, String(i + 1), (i % 7) * 100 + 100, "EUR", at(i * 10))));
    const before = await topOf(id, 50);
    const token = await adminToken();
    const positionBefore = await callJson("GET", `/records/position/${id}/13`, { token });
    await evictDurableObject(env.CAMPAIGN_BOARD.getByName(`campaign:${id}`));
    expect(await topOf(id, 50)).toEqual(before);
    expect((await callJson("GET", `/records/position/${id}/13`, { token })).body).toEqual(positionBefore.body);
  });
});

describe("GET /records", () => {
  it("answers top n within 1..1000 and 404 for an unknown campaign", async () => {
    const campaign = await createCampaign();
    await deliver("qualified-purchase-events", [1, 2, 3].map((u) => qualified(campaign.campaignId, String(u), u * 100, "EUR", at(u))));
    const { body } = await callJson("GET", `/records/top/2/${campaign.campaignId}`);
    expect(body).toEqual({
      headers: [],
      records: {
        campaignId: campaign.campaignId,
        positions: [
          { userId: "3", displayName: null, position: 0, total: { value: "3.00", currency: "EUR" } },
          { userId: "2", displayName: null, position: 1, total: { value: "2.00", currency: "EUR" } },
        ],
      },
    });
    for (const n of ["0", "1001", "abc"]) {
      const bad = await callJson("GET", `/records/top/${n}/${campaign.campaignId}`);
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe("path.n");
    }
    expect((await callJson("GET", "/records/top/10/99999999")).status).toBe(404);
  });

  it("gives a user their own position, an admin anyone's, and nobody else's", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "42", 900, "EUR", at(1)), qualified(id, "43", 1000, "EUR", at(1))]);
    const own = await callJson("GET", `/records/position/${id}/42`, { token: await tokenFor(42, ["citizen"]) });
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ headers: [], record: { campaignId: id, userId: "42", displayName: null, position: 1, total: { value: "9.00", currency: "EUR" } } });
    expect((await callJson("GET", `/records/position/${id}/43`, { token: await tokenFor(42, ["citizen"]) })).status).toBe(403);
    expect((await callJson("GET", `/records/position/${id}/43`)).status).toBe(401);
    const admin = await callJson("GET", `/records/position/${id}/43`, { token: await adminToken() });
    expect(admin.body.record.position).toBe(0);
    const none = await callJson("GET", `/records/position/${id}/44`, { token: await adminToken() });
    expect(none.status).toBe(404);
  });
});
