import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { activeIds, campaignBody, createCampaign, d1Status, getCampaign, sendEvent } from "./helpers.ts";

const HOUR = 3_600_000;

describe("POST /ads/campaigns", () => {
  it("creates an active campaign with the documented shape", async () => {
    const start = new Date(Date.now() - HOUR).toISOString();
    const end = new Date(Date.now() + 10 * HOUR).toISOString();
    const { status, body } = await callJson("POST", "/ads/campaigns", {
      token: await adminToken(),
      body: campaignBody({ advertiserId: 12, dailyBudget: { value: 20, currency: "EUR" }, startDateTime: start, endDateTime: end }),
    });
    expect(status).toBe(201);
    expect(body.adCampaign).toEqual({
      adCampaignId: expect.stringMatching(/^\d+$/),
      advertiserId: "12",
      name: "Winter boots",
      cpc: { value: "0.50", currency: "EUR" },
      dailyBudget: { value: "20.00", currency: "EUR" },
      totalBudget: { value: "100.00", currency: "EUR" },
      startDateTime: start,
      endDateTime: end,
      pacing: "asap",
      status: "active",
    });
    expect(await d1Status(body.adCampaign.adCampaignId)).toBe("active");
  });

  it("creates a future campaign as scheduled and a past one as ended", async () => {
    const scheduled = await createCampaign({ startDateTime: new Date(Date.now() + HOUR).toISOString() });
    expect(scheduled.status).toBe("scheduled");
    const ended = await createCampaign({
      startDateTime: "2025-01-01T00:00:00Z",
      endDateTime: "2025-02-01T00:00:00Z",
    });
    expect(ended.status).toBe("ended");
    expect(ended.startDateTime).toBe("2025-01-01T00:00:00.000Z");
    const ids = await activeIds();
    expect(ids).not.toContain(scheduled.adCampaignId);
    expect(ids).not.toContain(ended.adCampaignId);
  });

  it("returns the first campaign when the same id is sent again, and 409 for other terms", async () => {
    const token = await adminToken();
    const body = campaignBody({ adCampaignId: "5001", startDateTime: "2026-01-01T00:00:00Z" });
    const first = await callJson("POST", "/ads/campaigns", { token, body });
    const again = await callJson("POST", "/ads/campaigns", { token, body: { ...body, adCampaignId: 5001 } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const changed = await callJson("POST", "/ads/campaigns", { token, body: { ...body, cpc: { value: "0.60", currency: "EUR" } } });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe("idempotency_conflict");
    expect((await getCampaign("5001")).cpc).toEqual({ value: "0.50", currency: "EUR" });
  });

  it("is described in the OpenAPI document", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(["/ads/campaigns", "/ads/campaigns/active", "/ads/campaigns/{id}", "/ads/events", "/ads/campaigns/{id}/performance"]),
    );
  });

  it("needs an admin token", async () => {
    expect((await callJson("POST", "/ads/campaigns", { body: campaignBody() })).status).toBe(401);
    const citizen = await tokenFor(3, ["citizen"]);
    expect((await callJson("POST", "/ads/campaigns", { token: citizen, body: campaignBody() })).status).toBe(403);
  });

  it.each([
    ["a missing name", { name: undefined }, 400, "name"],
    ["a negative cpc", { cpc: { value: "-1.00", currency: "EUR" } }, 400, "cpc.value"],
    ["a zero total budget", { totalBudget: { value: "0", currency: "EUR" } }, 400, "totalBudget.value"],
    ["too many fraction digits", { cpc: { value: "0.005", currency: "EUR" } }, 400, "cpc.value"],
    ["a start that is not ISO UTC", { startDateTime: "22/11/2026" }, 400, "startDateTime"],
    ["an advertiser id that is not digits", { advertiserId: "acme" }, 400, "advertiserId"],
    ["an unknown currency", { cpc: { value: "1", currency: "XXX" } }, 422, "cpc.currency"],
    ["budgets in another currency", { totalBudget: { value: "100", currency: "USD" } }, 422, "totalBudget.currency"],
    ["an end before the start", { startDateTime: "2026-11-22T10:00:00Z", endDateTime: "2026-11-22T09:00:00Z" }, 422, "endDateTime"],
  ])("refuses %s", async (_label, overrides, status, path) => {
    const { status: got, body } = await callJson("POST", "/ads/campaigns", { token: await adminToken(), body: campaignBody(overrides) });
    expect(got).toBe(status);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe("a campaign whose object was never configured", () => {
  it("is set up from its D1 row by the first request that reaches the object", async () => {
    // As if the create request wrote D1 and then failed before it reached the object.
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO ad_campaigns (ad_campaign_id, advertiser_id, name, currency, cpc_minor, daily_budget_minor, total_budget_minor,
         start_at, end_at, status, status_changed_at, created_at)
       VALUES (7001, 3, 'Orphan', 'JPY', 40, NULL, 100, ?, NULL, 'active', ?, ?)`,
    )
      .bind(now - 60_000, now, now)
      .run();
    const click = await sendEvent({ adCampaignId: "7001", userId: "1" });
    expect(click.status).toBe(202);
    expect(click.body.charged).toEqual({ value: "40", currency: "JPY" });
    expect(await getCampaign("7001")).toMatchObject({ name: "Orphan", status: "active", spentTotal: { value: "40", currency: "JPY" } });
  });
});

describe("GET /ads/campaigns/{id}", () => {
  it("shows live spend and what remains", async () => {
    const campaign = await createCampaign({ dailyBudget: { value: "10.00", currency: "EUR" } });
    expect(await getCampaign(campaign.adCampaignId)).toMatchObject({
      status: "active",
      spentToday: { value: "0.00", currency: "EUR" },
      spentTotal: { value: "0.00", currency: "EUR" },
      remainingToday: { value: "10.00", currency: "EUR" },
      remainingTotal: { value: "100.00", currency: "EUR" },
    });
  });

  it("writes remainingToday as null without a daily budget", async () => {
    const campaign = await createCampaign();
    const view = await getCampaign(campaign.adCampaignId);
    expect(view.remainingToday).toBeNull();
    expect(view).not.toHaveProperty("dailyBudget");
    expect(view).not.toHaveProperty("endDateTime");
  });

  it("answers 404 for an unknown campaign and 400 for an id that is not digits", async () => {
    expect((await callJson("GET", "/ads/campaigns/987654")).status).toBe(404);
    const bad = await callJson("GET", "/ads/campaigns/abc");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("path.id");
  });
});

describe("GET /ads/campaigns/active", () => {
  it("lists the campaigns that may be served now, by id", async () => {
    const a = await createCampaign();
    const b = await createCampaign();
    const ids = await activeIds();
    expect(ids).toEqual(expect.arrayContaining([a.adCampaignId, b.adCampaignId]));
    expect(ids).toEqual([...ids].sort((x, y) => Number(x) - Number(y)));
    const { body } = await callJson("GET", "/ads/campaigns/active");
    expect(body.adCampaigns.every((c: { status: string }) => c.status === "active")).toBe(true);
  });

  it("honours limit and refuses a bad one", async () => {
    await createCampaign();
    await createCampaign();
    expect((await callJson("GET", "/ads/campaigns/active?limit=1")).body.adCampaigns).toHaveLength(1);
    const bad = await callJson("GET", "/ads/campaigns/active?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("query.limit");
  });
});

describe("POST /ads/campaigns/{id}/pause and /resume", () => {
  it("pauses and resumes, repeats change nothing, and the active list follows at once", async () => {
    const token = await adminToken();
    const { adCampaignId } = await createCampaign();
    const paused = await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`, { token });
    expect(paused.status).toBe(200);
    expect(paused.body.adCampaign.status).toBe("paused");
    expect(await d1Status(adCampaignId)).toBe("paused");
    expect(await activeIds()).not.toContain(adCampaignId);
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`, { token })).body.adCampaign.status).toBe("paused");

    const resumed = await callJson("POST", `/ads/campaigns/${adCampaignId}/resume`, { token });
    expect(resumed.status).toBe(200);
    expect(resumed.body.adCampaign.status).toBe("active");
    expect(await activeIds()).toContain(adCampaignId);
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/resume`, { token })).body.adCampaign.status).toBe("active");
  });

  it("keeps a paused campaign that has not started paused, and resumes it to scheduled", async () => {
    const token = await adminToken();
    const { adCampaignId } = await createCampaign({ startDateTime: new Date(Date.now() + HOUR).toISOString() });
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`, { token })).body.adCampaign.status).toBe("paused");
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/resume`, { token })).body.adCampaign.status).toBe("scheduled");
  });

  it("refuses to pause an ended campaign", async () => {
    const { adCampaignId } = await createCampaign({ startDateTime: "2025-01-01T00:00:00Z", endDateTime: "2025-02-01T00:00:00Z" });
    const { status, body } = await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`, { token: await adminToken() });
    expect(status).toBe(409);
    expect(body.code).toBe("conflict");
  });

  it("needs an admin and a known campaign", async () => {
    const { adCampaignId } = await createCampaign();
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`)).status).toBe(401);
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/pause`, { token: await tokenFor(4, ["employer"]) })).status).toBe(403);
    expect((await callJson("POST", "/ads/campaigns/424242/resume", { token: await adminToken() })).status).toBe(404);
  });
});
