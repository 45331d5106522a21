import { describe, expect, it } from "vitest";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { createCampaign } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

// A month ahead, whatever today is: the campaign is "scheduled".
const START = new Date(utcDaysAhead(30)).toISOString();
const END = new Date(utcDaysAhead(60)).toISOString();

const valid = () => ({
  itemId: "5",
  prize: { value: "250.00", currency: "EUR" },
  startDateTime: START.replace(".000Z", "Z"), // written back with milliseconds
  endDateTime: END,
});

describe("POST /campaigns", () => {
  it("creates a campaign with an assigned id, written as the contract says", async () => {
    const { status, body } = await callJson("POST", "/campaigns", { token: await adminToken(), body: valid() });
    expect(status).toBe(201);
    expect(body.campaign).toMatchObject({
      itemId: "5",
      prize: { value: "250.00", currency: "EUR" },
      startDateTime: START,
      endDateTime: END,
      status: "scheduled",
    });
    expect(body.campaign.campaignId).toMatch(/^\d+$/);
  });

  it("accepts ids as numbers and writes them back as strings", async () => {
    const campaignId = Number(uniqueId());
    const { status, body } = await callJson("POST", "/campaigns", {
      token: await adminToken(),
      body: { ...valid(), campaignId, itemId: 77, prize: { value: 1000, currency: "JPY" } },
    });
    expect(status).toBe(201);
    expect(body.campaign).toMatchObject({ campaignId: String(campaignId), itemId: "77", prize: { value: "1000", currency: "JPY" } });
  });

  it("returns the first answer when the same id is sent again, and 409 for other terms", async () => {
    const token = await adminToken();
    const campaignId = uniqueId();
    const first = await callJson("POST", "/campaigns", { token, body: { ...valid(), campaignId } });
    const again = await callJson("POST", "/campaigns", { token, body: { ...valid(), campaignId } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const other = await callJson("POST", "/campaigns", { token, body: { ...valid(), campaignId, itemId: "6" } });
    expect(other.status).toBe(409);
    const stored = await callJson("GET", `/campaigns/${campaignId}`);
    expect(stored.body.campaign.itemId).toBe("5");
  });

  it.each([
    ["itemId", { itemId: "abc" }],
    ["itemId", { itemId: -1 }],
    ["prize.value", { prize: { value: "12.345", currency: "EUR" } }],
    ["prize.value", { prize: { value: "0", currency: "EUR" } }],
    ["prize.currency", { prize: { value: "1", currency: "euro" } }],
    ["startDateTime", { startDateTime: "yesterday" }],
    ["endDateTime", { endDateTime: "2026-12-31T00:00:00+02:00" }],
    ["campaignId", { campaignId: "12a" }],
  ])("answers 400 naming %s", async (field, patch) => {
    const { status, body } = await callJson("POST", "/campaigns", { token: await adminToken(), body: { ...valid(), ...patch } });
    expect(status).toBe(400);
    expect(body.code).toBe("validation_failed");
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(field);
  });

  it("names every missing field at once", async () => {
    const { status, body } = await callJson("POST", "/campaigns", { token: await adminToken(), body: {} });
    expect(status).toBe(400);
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["endDateTime", "itemId", "prize", "startDateTime"]);
  });

  it("answers 422 when the end is not after the start, or the currency is unknown", async () => {
    const token = await adminToken();
    const backwards = await callJson("POST", "/campaigns", { token, body: { ...valid(), endDateTime: valid().startDateTime } });
    expect(backwards.status).toBe(422);
    expect(backwards.body.errors[0].path).toBe("endDateTime");
    const unknown = await callJson("POST", "/campaigns", { token, body: { ...valid(), prize: { value: "1.00", currency: "XTS" } } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toBe("prize.currency");
  });

  it("needs an admin token", async () => {
    expect((await callJson("POST", "/campaigns", { body: valid() })).status).toBe(401);
    expect((await callJson("POST", "/campaigns", { body: valid(), token: await tokenFor(42, ["citizen"]) })).status).toBe(403);
  });
});

describe("GET /campaigns", () => {
  it("answers 404 for an unknown campaign and 400 for a malformed id", async () => {
    expect((await callJson("GET", "/campaigns/987654321")).status).toBe(404);
    const bad = await callJson("GET", "/campaigns/x1");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("path.campaignId");
  });

  it("lists the campaigns active at a moment in the seed's shape", async () => {
    const itemId = uniqueId();
    const running = await createCampaign({ itemId });
    const later = await createCampaign({ itemId, start: Date.now() + 86_400_000, end: Date.now() + 2 * 86_400_000 });
    const now = await callJson("GET", "/campaigns/active");
    expect(now.body.headers).toEqual([]);
    const ids = now.body.campaigns.map((c: { campaignId: string }) => c.campaignId);
    expect(ids).toContain(running.campaignId);
    expect(ids).not.toContain(later.campaignId);
    const tomorrow = new Date(Date.now() + 86_400_000 + 60_000).toISOString();
    const then = await callJson("GET", `/campaigns/active?at=${tomorrow}`);
    const thenIds = then.body.campaigns.map((c: { campaignId: string }) => c.campaignId);
    expect(thenIds).toContain(later.campaignId);
    expect(thenIds).not.toContain(running.campaignId);
    expect((await callJson("GET", "/campaigns/active?at=soon")).status).toBe(400);
  });

  it("ends a campaign early: it leaves the active list and reports ended", async () => {
    const campaign = await createCampaign();
    const ended = await callJson("POST", `/campaigns/${campaign.campaignId}/end`, { token: await adminToken() });
    expect(ended.status).toBe(200);
    expect(["ended", "settled"]).toContain(ended.body.campaign.status);
    expect(Date.parse(ended.body.campaign.endDateTime)).toBeLessThanOrEqual(Date.now());
    const active = await callJson("GET", "/campaigns/active");
    expect(active.body.campaigns.map((c: { campaignId: string }) => c.campaignId)).not.toContain(campaign.campaignId);
    expect((await callJson("POST", `/campaigns/${campaign.campaignId}/end`, { token: await tokenFor(5, ["citizen"]) })).status).toBe(403);
    expect((await callJson("POST", "/campaigns/123456789/end", { token: await adminToken() })).status).toBe(404);
  });
});
