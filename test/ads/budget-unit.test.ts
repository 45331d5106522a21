import { describe, expect, it } from "vitest";
import {
  afterCharge,
  clickCharge,
  isWithinDuplicateWindow,
  nextScheduledMoment,
  noChargeReason,
  remainingToday,
  statusAt,
  visitorKey,
  type AdCampaignDefinition,
  type Spending,
} from "../../durable-objects/ad-campaign/budget.ts";
import { nextUtcMidnight, utcDayNumber } from "../../shared/time.ts";

const at = (iso: string) => Date.parse(iso);
const NOW = at("2026-11-22T12:00:00.000Z");

const definition: AdCampaignDefinition = {
  adCampaignId: "1",
  advertiserId: "9",
  name: "Boots",
  currency: "EUR",
  cpcMinor: 30,
  dailyBudgetMinor: 100,
  totalBudgetMinor: 250,
  startAt: at("2026-11-01T00:00:00.000Z"),
  endAt: at("2026-12-01T00:00:00.000Z"),
  createdAt: at("2026-10-01T00:00:00.000Z"),
  frequencyCap: null,
  pacing: "asap",
};

const fresh: Spending = { paused: false, spentDay: utcDayNumber(NOW), spentTodayMinor: 0, spentTotalMinor: 0 };

describe("ad campaign status", () => {
  it("is active inside the schedule with budget left", () => {
    expect(statusAt(definition, fresh, NOW)).toBe("active");
  });

  it("is scheduled before the start and ended from the end on", () => {
    expect(statusAt(definition, fresh, definition.startAt - 1)).toBe("scheduled");
    expect(statusAt(definition, fresh, definition.endAt!)).toBe("ended");
  });

  it("is exhausted_today when the daily budget is spent and active again the next UTC day", () => {
    const spent = { ...fresh, spentTodayMinor: 100, spentTotalMinor: 100 };
    expect(statusAt(definition, spent, NOW)).toBe("exhausted_today");
    expect(statusAt(definition, spent, nextUtcMidnight(NOW))).toBe("active");
  });

  it("is exhausted when the total budget is spent, even when paused", () => {
    expect(statusAt(definition, { ...fresh, spentTotalMinor: 250, paused: true }, NOW)).toBe("exhausted");
  });

  it("stays ended whatever else holds", () => {
    expect(statusAt(definition, { ...fresh, spentTotalMinor: 250, paused: true }, definition.endAt! + 1)).toBe("ended");
  });

  it("is paused over scheduled and over exhausted_today", () => {
    expect(statusAt(definition, { ...fresh, paused: true }, definition.startAt - 1)).toBe("paused");
    expect(statusAt(definition, { ...fresh, paused: true, spentTodayMinor: 100 }, NOW)).toBe("paused");
  });

  it("never ends without an end date", () => {
    expect(statusAt({ ...definition, endAt: null }, fresh, at("2099-01-01T00:00:00.000Z"))).toBe("active");
  });

  it("gives the reason a click is not charged", () => {
    expect(noChargeReason("active")).toBeNull();
    expect(noChargeReason("exhausted_today")).toBe("budget_exhausted");
    expect(noChargeReason("exhausted")).toBe("budget_exhausted");
    expect(noChargeReason("paused")).toBe("inactive");
    expect(noChargeReason("scheduled")).toBe("inactive");
    expect(noChargeReason("ended")).toBe("inactive");
  });
});

describe("click charge", () => {
  it("charges the cpc while both budgets cover it", () => {
    expect(clickCharge(definition, fresh, NOW)).toBe(30);
  });

  it("charges the rest of the daily budget when it is less than the cpc", () => {
    expect(clickCharge(definition, { ...fresh, spentTodayMinor: 90, spentTotalMinor: 90 }, NOW)).toBe(10);
  });

  it("charges the rest of the total budget when it is the smallest", () => {
    expect(clickCharge(definition, { ...fresh, spentTodayMinor: 0, spentTotalMinor: 240 }, NOW)).toBe(10);
  });

  it("ignores the daily budget a campaign does not have", () => {
    expect(remainingToday({ ...definition, dailyBudgetMinor: null }, fresh, NOW)).toBeNull();
    expect(clickCharge({ ...definition, dailyBudgetMinor: null }, { ...fresh, spentTodayMinor: 500 }, NOW)).toBe(30);
  });

  it("never lets repeated charges pass either budget, and the last takes the remainder", () => {
    let spending = fresh;
    const charges: number[] = [];
    for (let day = 0; day < 5; day++) {
      const now = NOW + day * 86_400_000;
      while (statusAt(definition, spending, now) === "active") {
        const charge = clickCharge(definition, spending, now);
        charges.push(charge);
        spending = afterCharge(spending, charge, now);
        expect(spending.spentTodayMinor).toBeLessThanOrEqual(100);
      }
    }
    expect(spending.spentTotalMinor).toBe(250);
    expect(charges).toEqual([30, 30, 30, 10, 30, 30, 30, 10, 30, 20]);
  });

  it("restarts the daily spend on a new UTC day", () => {
    const yesterday = { ...fresh, spentDay: utcDayNumber(NOW) - 1, spentTodayMinor: 100, spentTotalMinor: 100 };
    expect(afterCharge(yesterday, 30, NOW)).toEqual({ paused: false, spentDay: utcDayNumber(NOW), spentTodayMinor: 30, spentTotalMinor: 130 });
  });
});

describe("duplicate click window", () => {
  it("treats clicks under 30 s apart as one, either way round, and 30 s or more as two", () => {
    expect(isWithinDuplicateWindow(NOW + 29_000, NOW)).toBe(true);
    expect(isWithinDuplicateWindow(NOW - 29_999, NOW)).toBe(true);
    expect(isWithinDuplicateWindow(NOW + 30_000, NOW)).toBe(false);
    expect(isWithinDuplicateWindow(NOW + 31_000, NOW)).toBe(false);
  });

  it("keys the window by user, else ip, else nobody", () => {
    expect(visitorKey("7", "10.0.0.1")).toBe("user:7");
    expect(visitorKey(null, "10.0.0.1")).toBe("ip:10.0.0.1");
    expect(visitorKey(null, null)).toBeNull();
  });
});

describe("next scheduled moment", () => {
  it("is the start for a scheduled campaign", () => {
    expect(nextScheduledMoment(definition, "scheduled", definition.startAt - 1000)).toBe(definition.startAt);
  });

  it("is the next 00:00 UTC while active, and the end when that comes first", () => {
    expect(nextScheduledMoment(definition, "active", NOW)).toBe(at("2026-11-23T00:00:00.000Z"));
    expect(nextScheduledMoment({ ...definition, endAt: NOW + 60_000 }, "active", NOW)).toBe(NOW + 60_000);
  });

  it("waits only for the end once the total budget is spent, and for nothing once ended", () => {
    expect(nextScheduledMoment(definition, "exhausted", NOW)).toBe(definition.endAt);
    expect(nextScheduledMoment({ ...definition, endAt: null }, "exhausted", NOW)).toBeNull();
    expect(nextScheduledMoment(definition, "ended", NOW)).toBeNull();
  });

  it("counts UTC days from the epoch", () => {
    expect(utcDayNumber(at("1970-01-02T00:00:00.000Z"))).toBe(1);
    expect(nextUtcMidnight(at("2026-11-22T23:59:59.999Z"))).toBe(at("2026-11-23T00:00:00.000Z"));
    expect(nextUtcMidnight(at("2026-11-23T00:00:00.000Z"))).toBe(at("2026-11-24T00:00:00.000Z"));
  });
});
