import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, callJson, serviceToken, tokenFor } from "../support/http.ts";
import { createCampaign, d1Status, getCampaign, sendEvent } from "./helpers.ts";

const eur = (value: string) => ({ value, currency: "EUR" });
const minor = (value: string) => Math.round(Number(value) * 100);

/** Every campaign a test created, stopped after it so that serving in the next test sees only its own. */
const created: string[] = [];
async function campaign(overrides: Record<string, unknown> = {}): Promise<string> {
  const { adCampaignId } = await createCampaign(overrides);
  created.push(adCampaignId);
  return adCampaignId;
}

async function patch(adCampaignId: string, body: unknown) {
  return callJson("PATCH", `/ads/campaigns/${adCampaignId}`, { token: await adminToken(), body });
}

async function stop(adCampaignId: string) {
  return callJson("POST", `/ads/campaigns/${adCampaignId}/stop`, { token: await adminToken() });
}

async function served(userId: string, slots = 10): Promise<string[]> {
  const { status, body } = await callJson("GET", `/ads/serve?userId=${userId}&slots=${slots}`, { token: await serviceToken() });
  if (status !== 200) throw new Error(`serve failed: ${status} ${JSON.stringify(body)}`);
  return (body.ads as Array<{ adCampaignId: string }>).map((ad) => ad.adCampaignId);
}

afterEach(async () => {
  vi.useRealTimers();
  for (const id of created.splice(0)) await stop(id);
});

describe("PATCH /ads/campaigns/{id} under concurrent clicks", () => {
  it("charges every click under one set of terms and never past the budget in force", async () => {
    const adCampaignId = await campaign({ cpc: eur("0.50"), totalBudget: eur("20.00") });
    const edits = [{ cpc: eur("0.30") }, { totalBudget: eur("25.00") }, { cpc: eur("0.70") }, { totalBudget: eur("15.00") }, { cpc: eur("0.40") }];
    const clicks = Promise.all(Array.from({ length: 300 }, (_, i) => sendEvent({ adCampaignId, userId: String(5000 + i) })));
    // Each edit answers the spend at the moment it applied: between two edits only the terms of
    // the first were in force.
    let budget = 2000;
    let spentBefore = 0;
    for (const edit of edits) {
      const { status, body } = await patch(adCampaignId, edit);
      expect(status).toBe(200);
      const spentAt = minor(body.adCampaign.spentTotal.value);
      expect(spentAt).toBeLessThanOrEqual(Math.max(spentBefore, budget));
      budget = minor(body.adCampaign.totalBudget.value);
      spentBefore = spentAt;
    }
    const answers = await clicks;
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const charges = answers.filter((a) => a.body.charged !== null).map((a) => minor(a.body.charged.value));
    const view = await getCampaign(adCampaignId);
    const spent = minor(view.spentTotal.value);
    expect(charges.reduce((sum, c) => sum + c, 0)).toBe(spent);
    expect(spent).toBeLessThanOrEqual(Math.max(spentBefore, budget));
    // A charge is one of the cpcs, or the remainder of a budget (at most once per budget in force).
    const cpcs = new Set([50, 30, 70, 40]);
    expect(charges.filter((c) => !cpcs.has(c)).length).toBeLessThanOrEqual(edits.length + 1);
    expect(charges.every((c) => c > 0 && c <= 70)).toBe(true);
  });
});

describe("budgets edited below and above the spend", () => {
  it("exhausts at once when the total budget drops below the spend and revives when it is raised", async () => {
    const adCampaignId = await campaign({ cpc: eur("1.00"), totalBudget: eur("10.00") });
    for (let i = 0; i < 3; i++) expect((await sendEvent({ adCampaignId, userId: String(100 + i) })).body.charged).toEqual(eur("1.00"));
    expect(await served("700")).toContain(adCampaignId);

    const lowered = await patch(adCampaignId, { totalBudget: eur("2.00") });
    expect(lowered.status).toBe(200);
    expect(lowered.body.adCampaign).toMatchObject({ status: "exhausted", totalBudget: eur("2.00"), remainingTotal: eur("0.00") });
    expect(await d1Status(adCampaignId)).toBe("exhausted");
    expect(await served("700")).not.toContain(adCampaignId);
    expect((await sendEvent({ adCampaignId, userId: "200" })).body).toMatchObject({ charged: null, reason: "budget_exhausted" });

    const raised = await patch(adCampaignId, { totalBudget: eur("5.00") });
    expect(raised.body.adCampaign).toMatchObject({ status: "active", remainingTotal: eur("2.00") });
    expect(await d1Status(adCampaignId)).toBe("active");
    expect(await served("700")).toContain(adCampaignId);
    // D1's catalogue row carries the new terms too.
    const row = await env.DB.prepare("SELECT total_budget_minor FROM ad_campaigns WHERE ad_campaign_id = ?").bind(Number(adCampaignId)).first();
    expect(row).toEqual({ total_budget_minor: 500 });
  });

  it("removes a daily budget with null and exhausts for the day when one is set below today's spend", async () => {
    const adCampaignId = await campaign({ cpc: eur("1.00"), dailyBudget: eur("5.00") });
    await sendEvent({ adCampaignId, userId: "1" });
    await sendEvent({ adCampaignId, userId: "2" });
    expect((await patch(adCampaignId, { dailyBudget: eur("1.50") })).body.adCampaign.status).toBe("exhausted_today");
    const removed = await patch(adCampaignId, { dailyBudget: null });
    expect(removed.body.adCampaign.status).toBe("active");
    expect(removed.body.adCampaign.dailyBudget).toBeUndefined();
    expect(removed.body.adCampaign.remainingToday).toBeNull();
  });
});

describe("POST /ads/campaigns/{id}/stop", () => {
  it("ends the campaign for good: clicks recorded but not charged, patch and resume 409", async () => {
    const adCampaignId = await campaign();
    const { status, body } = await stop(adCampaignId);
    expect(status).toBe(200);
    expect(body.adCampaign.status).toBe("ended");
    expect(await d1Status(adCampaignId)).toBe("ended");
    expect((await sendEvent({ adCampaignId, userId: "1" })).body).toMatchObject({ charged: null, reason: "inactive" });
    expect((await patch(adCampaignId, { name: "Again" })).status).toBe(409);
    expect((await callJson("POST", `/ads/campaigns/${adCampaignId}/resume`, { token: await adminToken() })).status).toBe(409);
    expect((await stop(adCampaignId)).body.adCampaign.status).toBe("ended");
    expect(await served("1")).not.toContain(adCampaignId);
    const view = await getCampaign(adCampaignId);
    expect(view.spentTotal).toEqual(eur("0.00"));
  });
});

describe("GET /ads/serve", () => {
  it("orders by cpc, highest first, ties by id, and honours slots", async () => {
    const low = await campaign({ cpc: eur("0.20") });
    const high = await campaign({ cpc: eur("0.90") });
    const tieA = await campaign({ cpc: eur("0.50") });
    const tieB = await campaign({ cpc: eur("0.50") });
    expect(await served("42")).toEqual([high, ...[tieA, tieB].sort((a, b) => Number(a) - Number(b)), low]);
    expect(await served("42", 1)).toEqual([high]);
    const { body } = await callJson("GET", `/ads/serve?userId=42&slots=1`, { token: await serviceToken() });
    expect(body).toEqual({ ads: [{ adCampaignId: high, cpc: eur("0.90") }] });
  });

  it("drops a capped campaign for a user who saw it n times today, keeps it for others, and again the next UTC day", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(utcDaysAhead(1, "10:00:00.000"));
    const capped = await campaign({ frequencyCap: { impressionsPerUserPerDay: 2 } });
    const now = () => new Date().toISOString();
    await sendEvent({ adCampaignId: capped, type: "impression", userId: "301", eventId: "cap-1", timestamp: now() });
    expect(await served("301")).toContain(capped);
    await sendEvent({ adCampaignId: capped, type: "impression", userId: "301", eventId: "cap-2", timestamp: now() });
    // A resent impression counts once.
    await sendEvent({ adCampaignId: capped, type: "impression", userId: "301", eventId: "cap-2", timestamp: now() });
    expect(await served("301")).not.toContain(capped);
    expect(await served("302")).toContain(capped);

    vi.setSystemTime(utcDaysAhead(2, "00:00:01.000"));
    expect(await served("301")).toContain(capped);
  });

  it("counts a resent impression once", async () => {
    const capped = await campaign({ frequencyCap: { impressionsPerUserPerDay: 2 } });
    for (let i = 0; i < 3; i++) await sendEvent({ adCampaignId: capped, type: "impression", userId: "401", eventId: "same-impression" });
    expect(await served("401")).toContain(capped);
  });

  it("serves an even campaign only while it is not ahead of its pace; an asap one regardless", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(utcDaysAhead(1, "06:00:00.000"));
    const spend = async (overrides: Record<string, unknown>, fortyCentClicks: number, thirtyCentClicks: number, tag: string) => {
      const id = await campaign({ cpc: eur("0.40"), dailyBudget: eur("10.00"), ...overrides });
      for (let i = 0; i < fortyCentClicks; i++) await sendEvent({ adCampaignId: id, userId: `${tag}${i}` });
      await patch(id, { cpc: eur("0.30") });
      for (let i = 0; i < thirtyCentClicks; i++) await sendEvent({ adCampaignId: id, userId: `${tag}9${i}` });
      return id;
    };
    // 10.00 × 6/24 + 0.30 = 2.80 allowed at 06:00.
    const onPace = await spend({ pacing: "even" }, 7, 0, "1"); // 2.80
    const ahead = await spend({ pacing: "even" }, 5, 3, "2"); // 2.90
    const asap = await spend({}, 5, 3, "3"); // 2.90
    expect((await getCampaign(onPace)).spentToday).toEqual(eur("2.80"));
    expect((await getCampaign(ahead)).spentToday).toEqual(eur("2.90"));
    const ids = await served("77");
    expect(ids).toContain(onPace);
    expect(ids).not.toContain(ahead);
    expect(ids).toContain(asap);
  });

  it("answers 400 naming userId or slots, 401 without a token, 403 for a citizen", async () => {
    const token = await serviceToken();
    for (const [query, path] of [
      ["slots=1", "query.userId"],
      ["userId=abc", "query.userId"],
      ["userId=1&slots=0", "query.slots"],
      ["userId=1&slots=11", "query.slots"],
    ] as const) {
      const { status, body } = await callJson("GET", `/ads/serve?${query}`, { token });
      expect(status).toBe(400);
      expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await callJson("GET", "/ads/serve?userId=1")).status).toBe(401);
    expect((await callJson("GET", "/ads/serve?userId=1", { token: await tokenFor("5", ["citizen"]) })).status).toBe(403);
  });
});

describe("validation of the new fields", () => {
  it.each([
    [{ cpc: { value: "-1", currency: "EUR" } }, "cpc", 400],
    [{ dailyBudget: { value: "0", currency: "EUR" } }, "dailyBudget", 400],
    [{ totalBudget: "ten" }, "totalBudget", 400],
    [{ endDateTime: "tomorrow" }, "endDateTime", 400],
    [{ frequencyCap: { impressionsPerUserPerDay: 0 } }, "frequencyCap.impressionsPerUserPerDay", 400],
    [{ frequencyCap: 3 }, "frequencyCap", 400],
    [{ pacing: "fast" }, "pacing", 400],
    [{ name: "" }, "name", 400],
    [{ colour: "red" }, "body", 400],
    [{}, "body", 400],
    [{ cpc: { value: "1.00", currency: "USD" } }, "cpc.currency", 422],
    [{ pacing: "even" }, "pacing", 422],
    [{ endDateTime: "2020-01-01T00:00:00Z" }, "endDateTime", 422],
  ])("PATCH %j → %s", async (body, path, status) => {
    const adCampaignId = await campaign();
    const answer = await patch(adCampaignId, body);
    expect(answer.status).toBe(status);
    expect(answer.body.errors.map((e: { path: string }) => e.path).join(" ")).toContain(path);
    expect((await getCampaign(adCampaignId)).name).toBe("Winter boots");
  });

  it("refuses even pacing without a daily budget and a bad cap on create", async () => {
    const token = await adminToken();
    const base = { advertiserId: "9", name: "x", cpc: eur("0.10"), totalBudget: eur("1.00"), startDateTime: new Date().toISOString() };
    const even = await callJson("POST", "/ads/campaigns", { token, body: { ...base, pacing: "even" } });
    expect(even.status).toBe(422);
    expect(even.body.errors.map((e: { path: string }) => e.path)).toContain("pacing");
    const cap = await callJson("POST", "/ads/campaigns", { token, body: { ...base, frequencyCap: { impressionsPerUserPerDay: 1.5 } } });
    expect(cap.status).toBe(400);
    expect(cap.body.errors.map((e: { path: string }) => e.path)).toContain("frequencyCap.impressionsPerUserPerDay");
  });

  it("answers 404 for an unknown campaign, 401 without a token and 403 for a service token", async () => {
    expect((await patch("987654321", { name: "x" })).status).toBe(404);
    expect((await stop("987654321")).status).toBe(404);
    expect((await callJson("PATCH", "/ads/campaigns/1", { body: { name: "x" } })).status).toBe(401);
    expect((await callJson("POST", "/ads/campaigns/1/stop", { token: await serviceToken() })).status).toBe(403);
  });
});

describe("unknown ad campaign ids", () => {
  it("leave no Durable Object behind on a read or an event", async () => {
    const before = (await listDurableObjectIds(env.AD_CAMPAIGN)).length;
    expect((await callJson("GET", "/ads/campaigns/123456789")).status).toBe(404);
    expect((await sendEvent({ adCampaignId: "123456790" })).status).toBe(404);
    expect((await listDurableObjectIds(env.AD_CAMPAIGN)).length).toBe(before);
    // A known one does have its object.
    await campaign();
    expect((await listDurableObjectIds(env.AD_CAMPAIGN)).length).toBe(before + 1);
  });
});
