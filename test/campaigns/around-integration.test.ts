import { describe, expect, it } from "vitest";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";

function qualified(campaignId: string, userId: string, minor: number, timestamp: number): QualifiedPurchaseMessage {
  return { kind: "qualified-purchase", purchaseId: crypto.randomUUID(), campaignId, userId, amount: { minor, currency: "EUR" }, timestamp };
}

describe("GET /records/around/{campaignId}/{userId}", () => {
  it("answers the positions around the first, the last and a middle user for span 1, 5 and 50, ties ordered as in top", async () => {
    const { campaignId } = await createCampaign();
    const now = Date.now();
    // 120 users; every pair shares a total, the later-reaching one second, so ties run all through the board.
    const purchases = Array.from({ length: 120 }, (_, i) => qualified(campaignId, String(1000 + i), 10_000 - Math.floor(i / 2) * 10, now - 60_000 + (i % 2) * 1000));
    for (let i = 0; i < purchases.length; i += 50) await deliver("qualified-purchase-events", purchases.slice(i, i + 50));
    const order = (await topOf(campaignId, 1000)).map((p) => p.userId);
    expect(order).toHaveLength(120);
    const admin = await adminToken();
    for (const span of [1, 5, 50]) {
      for (const index of [0, 119, 60]) {
        const userId = order[index]!;
        const { status, body } = await callJson("GET", `/records/around/${campaignId}/${userId}?span=${span}`, { token: admin });
        expect(status).toBe(200);
        expect(body.headers).toEqual([]);
        expect(body.records.campaignId).toBe(campaignId);
        const from = Math.max(0, index - span);
        const to = Math.min(119, index + span);
        expect(body.records.positions.map((p: { userId: string }) => p.userId)).toEqual(order.slice(from, to + 1));
        expect(body.records.positions.map((p: { position: number }) => p.position)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
        expect(body.records.positions[0]).toHaveProperty("displayName", null);
      }
    }
  });

  it("defaults span to 5, answers 404 for a user without a record, and checks span and caller", async () => {
    const { campaignId } = await createCampaign();
    await deliver("qualified-purchase-events", Array.from({ length: 20 }, (_, i) => qualified(campaignId, String(i + 1), 100 * (i + 1), Date.now() - 1000)));
    const own = await callJson("GET", `/records/around/${campaignId}/10`, { token: await tokenFor(10, ["citizen"]) });
    expect(own.status).toBe(200);
    expect(own.body.records.positions.map((p: { position: number }) => p.position)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const admin = await adminToken();
    expect((await callJson("GET", `/records/around/${campaignId}/999`, { token: admin })).status).toBe(404);
    expect((await callJson("GET", `/records/around/${campaignId}/10`, { token: await tokenFor(11, ["citizen"]) })).status).toBe(403);
    for (const span of ["0", "51", "x"]) {
      const bad = await callJson("GET", `/records/around/${campaignId}/10?span=${span}`, { token: admin });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe("query.span");
    }
  });
});
