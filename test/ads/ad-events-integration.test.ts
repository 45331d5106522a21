import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, call, callJson, serviceToken } from "../support/http.ts";
import { activeIds, createCampaign, d1Status, getCampaign, sendEvent, stubOf } from "./helpers.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** The statuses the object decided, oldest first, and whether each reached D1 and the queue. */
async function statusChanges(adCampaignId: string) {
  return runInDurableObject(stubOf(adCampaignId), (_instance, state) =>
    state.storage.sql
      .exec<{ status: string; synced_at: number | null }>("SELECT status, synced_at FROM status_changes ORDER BY changed_at")
      .toArray()
      .map((row) => ({ status: row.status, synced: row.synced_at !== null })),
  );
}

afterEach(() => {
  vi.useRealTimers();
});

describe("POST /ads/events: charging under concurrency", () => {
  it("charges exactly the budget across 500 concurrent clicks, the last charged click taking the remainder", async () => {
    // 29.90 at 0.30 a click: 99 full clicks and a 100th of 0.20.
    const { adCampaignId } = await createCampaign({
      cpc: { value: "0.30", currency: "EUR" },
      totalBudget: { value: "29.90", currency: "EUR" },
    });
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) => sendEvent({ adCampaignId, userId: String(1000 + i), eventId: `burst-${i}` })),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const charged = answers.filter((a) => a.body.charged !== null).map((a) => a.body.charged.value as string);
    expect(charged).toHaveLength(100);
    const spentMinor = charged.reduce((sum, value) => sum + Math.round(Number(value) * 100), 0);
    expect(spentMinor).toBe(2990);
    expect(charged.filter((value) => value === "0.20")).toHaveLength(1);
    expect(charged.filter((value) => value === "0.30")).toHaveLength(99);
    const refused = answers.filter((a) => a.body.charged === null);
    expect(refused.every((a) => a.body.reason === "budget_exhausted")).toBe(true);

    const lastCharge = await runInDurableObject(stubOf(adCampaignId), (_instance, state) =>
      state.storage.sql.exec<{ charged_minor: number }>("SELECT charged_minor FROM events WHERE charged_minor IS NOT NULL ORDER BY rowid DESC LIMIT 1").one(),
    );
    expect(lastCharge.charged_minor).toBe(20);

    const view = await getCampaign(adCampaignId);
    expect(view).toMatchObject({
      status: "exhausted",
      spentTotal: { value: "29.90", currency: "EUR" },
      remainingTotal: { value: "0.00", currency: "EUR" },
    });
  });

  it("charges exactly 100 clicks when the budget is a multiple of the cpc, and holds the daily cap too", async () => {
    // Mid-day, so that no midnight can renew the daily budget during the burst.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(utcDaysAhead(1, "12:00:00.000"));
    const { adCampaignId } = await createCampaign({
      cpc: { value: "0.25", currency: "EUR" },
      dailyBudget: { value: "25.00", currency: "EUR" },
      totalBudget: { value: "1000.00", currency: "EUR" },
    });
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => sendEvent({ adCampaignId, userId: String(i) })));
    const charged = answers.filter((a) => a.body.charged !== null);
    expect(charged).toHaveLength(100);
    expect(charged.every((a) => a.body.charged.value === "0.25")).toBe(true);
    expect(await getCampaign(adCampaignId)).toMatchObject({
      status: "exhausted_today",
      spentToday: { value: "25.00", currency: "EUR" },
      remainingToday: { value: "0.00", currency: "EUR" },
      remainingTotal: { value: "975.00", currency: "EUR" },
    });
  });

  it("takes the campaign out of the active list the moment the budget runs out, and publishes the change", async () => {
    const { adCampaignId } = await createCampaign({ cpc: { value: "1.00", currency: "EUR" }, totalBudget: { value: "1.50", currency: "EUR" } });
    expect(await activeIds()).toContain(adCampaignId);
    expect((await sendEvent({ adCampaignId, userId: "1" })).body.charged).toEqual({ value: "1.00", currency: "EUR" });
    expect(await activeIds()).toContain(adCampaignId);
    const last = await sendEvent({ adCampaignId, userId: "2" });
    expect(last.body.charged).toEqual({ value: "0.50", currency: "EUR" });
    expect(await activeIds()).not.toContain(adCampaignId);
    expect(await d1Status(adCampaignId)).toBe("exhausted");
    expect(await statusChanges(adCampaignId)).toEqual([
      { status: "active", synced: true },
      { status: "exhausted", synced: true },
    ]);
    const after = await sendEvent({ adCampaignId, userId: "3" });
    expect(after.body).toEqual({ eventId: expect.any(String), charged: null, reason: "budget_exhausted" });
  });
});

describe("an evicted AdCampaign object", () => {
  it("rebuilds its spend, status and event ids from SQLite and keeps to the budget", async () => {
    const { adCampaignId } = await createCampaign({ cpc: { value: "0.40", currency: "EUR" }, totalBudget: { value: "1.00", currency: "EUR" } });
    const click = { adCampaignId, userId: "1", eventId: "before-eviction", timestamp: iso(Date.now() - 1000) };
    const first = await sendEvent(click);
    await sendEvent({ adCampaignId, userId: "2" });
    await evictDurableObject(stubOf(adCampaignId));
    expect((await getCampaign(adCampaignId)).spentTotal).toEqual({ value: "0.80", currency: "EUR" });
    expect((await sendEvent(click)).body).toEqual(first.body);
    expect((await sendEvent({ adCampaignId, userId: "3" })).body.charged).toEqual({ value: "0.20", currency: "EUR" });
    await evictDurableObject(stubOf(adCampaignId));
    expect((await getCampaign(adCampaignId)).status).toBe("exhausted");
    expect((await sendEvent({ adCampaignId, userId: "4" })).body.reason).toBe("budget_exhausted");
  });
});

describe("POST /ads/events: idempotency and duplicate clicks", () => {
  it("returns the first answer to a resent event id and charges once; another payload under it is 409", async () => {
    const { adCampaignId } = await createCampaign();
    const click = { adCampaignId, eventId: "click-1", userId: "7", timestamp: iso(Date.now() - 1000) };
    const first = await sendEvent(click);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ eventId: "click-1", charged: { value: "0.50", currency: "EUR" } });
    const again = await sendEvent({ ...click, adCampaignId: Number(adCampaignId) as unknown as string });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const conflict = await sendEvent({ ...click, userId: "8" });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe("idempotency_conflict");
    expect((await getCampaign(adCampaignId)).spentTotal).toEqual({ value: "0.50", currency: "EUR" });
  });

  it("assigns an event id when none is sent", async () => {
    const { adCampaignId } = await createCampaign();
    const { status, body } = await sendEvent({ adCampaignId, type: "impression" });
    expect(status).toBe(202);
    expect(body).toEqual({ eventId: expect.stringMatching(/.+/), charged: null });
  });

  it("does not charge a second click by the same user 29 s later, but does 31 s later (event time)", async () => {
    const { adCampaignId } = await createCampaign();
    const t0 = Date.now() - 120_000;
    const first = await sendEvent({ adCampaignId, userId: "7", timestamp: iso(t0) });
    const at29 = await sendEvent({ adCampaignId, userId: "7", timestamp: iso(t0 + 29_000) });
    const at31 = await sendEvent({ adCampaignId, userId: "7", timestamp: iso(t0 + 31_000) });
    expect(first.body.charged).toEqual({ value: "0.50", currency: "EUR" });
    expect(at29.body).toMatchObject({ charged: null, reason: "duplicate_click" });
    expect(at31.body.charged).toEqual({ value: "0.50", currency: "EUR" });
    const late = await sendEvent({ adCampaignId, userId: "7", timestamp: iso(t0 - 10_000) });
    expect(late.body).toMatchObject({ charged: null, reason: "duplicate_click" });
    const otherUser = await sendEvent({ adCampaignId, userId: "8", timestamp: iso(t0 + 1_000) });
    expect(otherUser.body.charged).toEqual({ value: "0.50", currency: "EUR" });
    expect((await getCampaign(adCampaignId)).spentTotal).toEqual({ value: "1.50", currency: "EUR" });
  });

  it("keys the window by ip when there is no user, and by the user when there is one", async () => {
    const { adCampaignId } = await createCampaign();
    const t0 = Date.now() - 60_000;
    expect((await sendEvent({ adCampaignId, ip: "203.0.113.9", timestamp: iso(t0) })).body.charged).not.toBeNull();
    expect((await sendEvent({ adCampaignId, ip: "203.0.113.9", timestamp: iso(t0 + 5_000) })).body.reason).toBe("duplicate_click");
    expect((await sendEvent({ adCampaignId, ip: "203.0.113.9", userId: "44", timestamp: iso(t0 + 6_000) })).body.charged).not.toBeNull();
    expect((await sendEvent({ adCampaignId, ip: "2001:db8::1", timestamp: iso(t0 + 7_000) })).body.charged).not.toBeNull();
  });

  it("records impressions and views without charging them", async () => {
    const { adCampaignId } = await createCampaign();
    expect((await sendEvent({ adCampaignId, type: "impression", userId: "1" })).body.charged).toBeNull();
    expect((await sendEvent({ adCampaignId, type: "view", userId: "1" })).body).not.toHaveProperty("reason");
    expect((await getCampaign(adCampaignId)).spentTotal.value).toBe("0.00");
  });
});

describe("POST /ads/events: campaigns that may not be served", () => {
  it("records but does not charge clicks on a paused campaign, and charges again after resume", async () => {
    const token = await adminToken();
    const { adCampaignId } = await createCampaign();
    await call("POST", `/ads/campaigns/${adCampaignId}/pause`, { token });
    expect((await sendEvent({ adCampaignId, userId: "1" })).body).toMatchObject({ charged: null, reason: "inactive" });
    await call("POST", `/ads/campaigns/${adCampaignId}/resume`, { token });
    expect((await sendEvent({ adCampaignId, userId: "1", timestamp: iso(Date.now() + 1) })).body.charged).not.toBeNull();
  });

  it("does not charge clicks on an ended or a scheduled campaign", async () => {
    const ended = await createCampaign({ startDateTime: "2025-01-01T00:00:00Z", endDateTime: "2025-02-01T00:00:00Z" });
    expect((await sendEvent({ adCampaignId: ended.adCampaignId, userId: "1" })).body).toMatchObject({ charged: null, reason: "inactive" });
    const scheduled = await createCampaign({ startDateTime: iso(Date.now() + 3_600_000) });
    expect((await sendEvent({ adCampaignId: scheduled.adCampaignId, userId: "1" })).body).toMatchObject({ charged: null, reason: "inactive" });
  });

  it("starts and ends on the object's alarm, writing D1 and publishing each change", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = utcDaysAhead(2, "09:00:00.000");
    vi.setSystemTime(t0);
    const start = t0 + 3_600_000;
    const end = t0 + 2 * 3_600_000;
    const { adCampaignId, status } = await createCampaign({ startDateTime: iso(start), endDateTime: iso(end) });
    expect(status).toBe("scheduled");
    const stub = stubOf(adCampaignId);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(start);

    vi.setSystemTime(start);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await d1Status(adCampaignId)).toBe("active");
    expect(await activeIds()).toContain(adCampaignId);
    expect((await sendEvent({ adCampaignId, userId: "1" })).body.charged).not.toBeNull();
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(end);

    vi.setSystemTime(end);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await d1Status(adCampaignId)).toBe("ended");
    expect(await activeIds()).not.toContain(adCampaignId);
    expect((await sendEvent({ adCampaignId, userId: "2" })).body.reason).toBe("inactive");
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    expect(await statusChanges(adCampaignId)).toEqual([
      { status: "scheduled", synced: true },
      { status: "active", synced: true },
      { status: "ended", synced: true },
    ]);
  });
});

describe("daily budget reset", () => {
  it("exhausts the daily budget before midnight and renews it at 00:00 UTC on the alarm", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const midnight = utcDaysAhead(3);
    vi.setSystemTime(midnight - 120_000);
    const { adCampaignId } = await createCampaign({
      cpc: { value: "1.00", currency: "EUR" },
      dailyBudget: { value: "2.50", currency: "EUR" },
      totalBudget: { value: "10.00", currency: "EUR" },
    });
    const charges = [];
    for (const userId of ["1", "2", "3", "4"]) charges.push((await sendEvent({ adCampaignId, userId })).body);
    expect(charges.map((c) => c.charged?.value ?? c.reason)).toEqual(["1.00", "1.00", "0.50", "budget_exhausted"]);
    expect(await d1Status(adCampaignId)).toBe("exhausted_today");
    expect(await activeIds()).not.toContain(adCampaignId);
    const stub = stubOf(adCampaignId);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(midnight);

    vi.setSystemTime(midnight + 10);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await d1Status(adCampaignId)).toBe("active");
    expect(await activeIds()).toContain(adCampaignId);
    expect(await getCampaign(adCampaignId)).toMatchObject({
      status: "active",
      spentToday: { value: "0.00", currency: "EUR" },
      spentTotal: { value: "2.50", currency: "EUR" },
      remainingToday: { value: "2.50", currency: "EUR" },
      remainingTotal: { value: "7.50", currency: "EUR" },
    });
    expect((await sendEvent({ adCampaignId, userId: "5" })).body.charged).toEqual({ value: "1.00", currency: "EUR" });
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(midnight + 86_400_000);
    expect((await statusChanges(adCampaignId)).map((c) => c.status)).toEqual(["active", "exhausted_today", "active"]);
  });

  it("renews the daily budget on the first click of a new day even before the alarm has run", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const midnight = utcDaysAhead(4);
    vi.setSystemTime(midnight - 60_000);
    const { adCampaignId } = await createCampaign({
      cpc: { value: "1.00", currency: "EUR" },
      dailyBudget: { value: "1.00", currency: "EUR" },
    });
    expect((await sendEvent({ adCampaignId, userId: "1" })).body.charged).not.toBeNull();
    expect((await sendEvent({ adCampaignId, userId: "2" })).body.reason).toBe("budget_exhausted");
    vi.setSystemTime(midnight + 30_000);
    expect((await sendEvent({ adCampaignId, userId: "3" })).body.charged).toEqual({ value: "1.00", currency: "EUR" });
    expect(await d1Status(adCampaignId)).toBe("exhausted_today");
  });
});

describe("POST /ads/events: invalid input", () => {
  it.each([
    ["an unknown type", { type: "hover" }, "type"],
    ["a missing campaign id", { adCampaignId: undefined }, "adCampaignId"],
    ["a timestamp without Z", { timestamp: "2026-11-22T10:00:00" }, "timestamp"],
    ["an ip that is not one", { ip: "999.1.1.1" }, "ip"],
    ["a user id that is not digits", { userId: "bob" }, "userId"],
    ["an event id with spaces", { eventId: "a b" }, "eventId"],
  ])("refuses %s with 400", async (_label, overrides, path) => {
    const { status, body } = await callJson("POST", "/ads/events", {
      token: await serviceToken(),
      body: { type: "click", adCampaignId: "1", timestamp: new Date().toISOString(), ...overrides },
    });
    expect(status).toBe(400);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("refuses a timestamp far in the future with 422 and an unknown campaign with 404", async () => {
    const { adCampaignId } = await createCampaign();
    const future = await sendEvent({ adCampaignId, timestamp: iso(Date.now() + 3_600_000) });
    expect(future.status).toBe(422);
    expect(future.body.errors[0].path).toBe("timestamp");
    expect((await sendEvent({ adCampaignId: "99999999" })).status).toBe(404);
    expect((await getCampaign(adCampaignId)).spentTotal.value).toBe("0.00");
  });
});
