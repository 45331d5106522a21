import { describe, expect, it } from "vitest";
import type { AdCampaignLifecycleMessage, QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { createCampaign, topOf } from "../campaigns/support.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { deliver } from "../support/queues.ts";

describe("dead letters", () => {
  it("keeps a message whose retries ran out, lists it for an admin and re-drives it", async () => {
    const campaign = await createCampaign({ prize: { value: "10.00", currency: "EUR" } });
    const body: QualifiedPurchaseMessage = {
      kind: "qualified-purchase",
      purchaseId: "stuck-1",
      campaignId: campaign.campaignId,
      userId: "5",
      amount: { minor: 1000, currency: "SEK" },
      timestamp: Date.now() - 1000,
    };
    // The platform hands the dead-letter queue a message after max_retries; deliver it the same way, twice.
    await deliver("dead-letters", [body], { ids: ["dl-1"], attempts: 6 });
    await deliver("dead-letters", [body], { ids: ["dl-1"], attempts: 6 });
    const token = await adminToken();
    const listed = await callJson("GET", "/admin/dead-letters", { token });
    expect(listed.status).toBe(200);
    expect(listed.body.deadLetters).toHaveLength(1);
    expect(listed.body.deadLetters[0]).toMatchObject({ deadLetterId: "dl-1", kind: "qualified-purchase", queue: "QUALIFIED_PURCHASE_EVENTS", body, redrivenAt: null });

    // The missing rate arrives; re-driving now scores the purchase once.
    await callJson("PUT", "/exchange-rates", { token, body: { base: "EUR", rates: { SEK: "11.00" }, effectiveFrom: "2020-01-01T00:00:00Z" } });
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ["dl-1"] } });
    expect(redrive.body).toEqual({ redriven: ["dl-1"] });
    const positions = await eventually(async () => {
      const top = await topOf(campaign.campaignId);
      return top.length > 0 ? top : undefined;
    });
    expect(positions[0]).toMatchObject({ userId: "5", total: { value: "0.91", currency: "EUR" } });
    expect((await callJson("GET", "/admin/dead-letters", { token })).body.deadLetters).toEqual([]);
    expect((await callJson("POST", "/admin/dead-letters/redrive", { token })).body).toEqual({ redriven: [] });
  });

  it("keeps every letter of a full batch of 100", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `full-${i}`);
    const result = await deliver("dead-letters", ids.map((id) => lifecycle(id)), { ids, attempts: 6 });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    const listed = await callJson("GET", "/admin/dead-letters?all=true&limit=1000", { token: await adminToken() });
    const kept = listed.body.deadLetters.filter((letter: { deadLetterId: string }) => letter.deadLetterId.startsWith("full-"));
    expect(kept.map((letter: { deadLetterId: string }) => letter.deadLetterId).sort()).toEqual([...ids].sort());
    expect(kept[0]).toMatchObject({ kind: "ad-campaign-lifecycle", queue: "CAMPAIGN_LIFECYCLE", attempts: 6 });
  });

  it("re-drives 150 pending letters named at once, each exactly once", async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `many-${i}`);
    await deliver("dead-letters", ids.slice(0, 100).map((id) => lifecycle(id)), { ids: ids.slice(0, 100), attempts: 6 });
    await deliver("dead-letters", ids.slice(100).map((id) => lifecycle(id)), { ids: ids.slice(100), attempts: 6 });
    const token = await adminToken();
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ids } });
    expect(redrive.status, JSON.stringify(redrive.body)).toBe(200);
    expect(redrive.body.redriven).toHaveLength(150);
    expect([...redrive.body.redriven].sort()).toEqual([...ids].sort());

    const again = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ids } });
    expect(again.body).toEqual({ redriven: [] });
    const rest = await callJson("POST", "/admin/dead-letters/redrive", { token });
    expect(rest.status).toBe(200);
    expect(rest.body.redriven.filter((id: string) => id.startsWith("many-"))).toEqual([]);
    const all = await callJson("GET", "/admin/dead-letters?all=true&limit=1000", { token });
    const mine = all.body.deadLetters.filter((letter: { deadLetterId: string }) => letter.deadLetterId.startsWith("many-"));
    expect(mine).toHaveLength(150);
    expect(mine.every((letter: { redrivenAt: string | null }) => letter.redrivenAt !== null)).toBe(true);
  });

  it("re-drives 100 large letters, more than one queue send may carry", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `large-${i}`);
    // About 4 KB each: 400 KB in all, past the 256 KB one sendBatch takes.
    const bodies = ids.map((id) => lifecycle(`${id}-${"x".repeat(4000)}`));
    await deliver("dead-letters", bodies, { ids, attempts: 6 });
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token: await adminToken(), body: { deadLetterIds: ids } });
    expect(redrive.status, JSON.stringify(redrive.body)).toBe(200);
    expect([...redrive.body.redriven].sort()).toEqual([...ids].sort());
  });

  it("is for admins only", async () => {
    expect((await callJson("GET", "/admin/dead-letters")).status).toBe(401);
    expect((await callJson("GET", "/admin/dead-letters", { token: await tokenFor(9, ["officer"]) })).status).toBe(403);
    expect((await callJson("GET", "/admin/dead-letters?limit=0", { token: await adminToken() })).status).toBe(400);
  });
});

/** A dead letter whose re-drive is harmless: the lifecycle consumer only logs it. */
function lifecycle(adCampaignId: string): AdCampaignLifecycleMessage {
  return { kind: "ad-campaign-lifecycle", adCampaignId, status: "ended", at: 1_700_000_000_000 };
}
