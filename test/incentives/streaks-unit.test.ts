import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AwardCandidate,
  distinctSortedDays,
  isoDay,
  localDayOf,
  newlyEarned,
  ruleHolds,
  summarizeDays,
} from "../../durable-objects/user/streak-rules.ts";

const day = (iso: string) => localDayOf(Date.parse(`${iso}T12:00:00.000Z`));

describe("localDayOf", () => {
  it("is the UTC day without an offset", () => {
    expect(isoDay(localDayOf(Date.parse("2026-01-05T23:59:59.999Z")))).toBe("2026-01-05");
    expect(isoDay(localDayOf(Date.parse("2026-01-06T00:00:00.000Z")))).toBe("2026-01-06");
  });

  it("moves an evening event east of UTC onto the next local day", () => {
    expect(isoDay(localDayOf(Date.parse("2026-01-05T23:30:00.000Z"), 60))).toBe("2026-01-06");
  });

  it("moves an early event west of UTC back onto the previous local day", () => {
    expect(isoDay(localDayOf(Date.parse("2026-01-06T00:30:00.000Z"), -60))).toBe("2026-01-05");
    expect(isoDay(localDayOf(Date.parse("2026-01-06T11:59:00.000Z"), -720))).toBe("2026-01-05");
  });

  it("handles days before 1970", () => {
    expect(isoDay(localDayOf(Date.parse("1969-12-31T23:00:00.000Z")))).toBe("1969-12-31");
  });
});

describe("summarizeDays", () => {
  it("has no summary for no days", () => {
    expect(summarizeDays([])).toBeUndefined();
  });

  it("counts one day as a streak of one", () => {
    expect(summarizeDays([day("2026-01-05")])).toEqual({ current: 1, longest: 1, lastDay: day("2026-01-05") });
  });

  it("keeps the longest run even when the current one is shorter", () => {
    const days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05", "2026-01-06"].map(day);
    expect(summarizeDays(days)).toEqual({ current: 2, longest: 3, lastDay: day("2026-01-06") });
  });

  it("runs across month and year ends", () => {
    const days = ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"].map(day);
    expect(summarizeDays(days)).toMatchObject({ current: 4, longest: 4 });
  });

  it("counts several events on one day once, via the distinct days", () => {
    const days = distinctSortedDays([day("2026-01-02"), day("2026-01-01"), day("2026-01-02"), day("2026-01-01")]);
    expect(summarizeDays(days)).toMatchObject({ current: 2, longest: 2 });
  });
});

describe("ruleHolds", () => {
  const fiveDays = { kind: "streak", days: 5 } as const;

  it("needs five consecutive days for a five-day streak", () => {
    expect(ruleHolds(fiveDays, ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"].map(day))).toBe(false);
    expect(ruleHolds(fiveDays, ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"].map(day))).toBe(true);
  });

  it("is not fooled by five days with a gap", () => {
    expect(ruleHolds(fiveDays, ["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05", "2026-01-06"].map(day))).toBe(false);
  });

  it("holds once a late day fills the gap", () => {
    const days = distinctSortedDays(["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05", "2026-01-03"].map(day));
    expect(ruleHolds(fiveDays, days)).toBe(true);
  });

  it("holds for a streak that is no longer current", () => {
    const days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-02-01"].map(day);
    expect(ruleHolds(fiveDays, days)).toBe(true);
  });

  it("holds a once rule on the first event", () => {
    expect(ruleHolds({ kind: "once" }, [])).toBe(false);
    expect(ruleHolds({ kind: "once" }, [day("2026-01-01")])).toBe(true);
  });
});

describe("newlyEarned", () => {
  const pillow: AwardCandidate = { employerIncentiveId: "1", incentiveId: "10", rule: { kind: "once" }, reward: { description: "pillow" } };
  const mug: AwardCandidate = { employerIncentiveId: "2", incentiveId: "11", rule: { kind: "streak", days: 2 }, reward: { description: "mug" } };

  it("returns the candidates that hold and were not awarded before", () => {
    const days = [day("2026-01-01"), day("2026-01-02")];
    expect(newlyEarned([pillow, mug], days, new Set())).toEqual([pillow, mug]);
    expect(newlyEarned([pillow, mug], days, new Set(["1"]))).toEqual([mug]);
    expect(newlyEarned([pillow, mug], [day("2026-01-01")], new Set())).toEqual([pillow]);
  });

  it("returns a candidate listed twice once", () => {
    expect(newlyEarned([pillow, pillow], [day("2026-01-01")], new Set())).toEqual([pillow]);
  });
});

interface Event {
  employerId: string;
  event: string;
  timestamp: number;
  utcOffsetMinutes: number;
}

const EMPLOYERS = ["1", "2"];
const EVENTS = ["data-logged", "birth-reported"];
const CANDIDATES: Record<string, AwardCandidate[]> = {};
for (const employerId of EMPLOYERS) {
  for (const event of EVENTS) {
    CANDIDATES[`${employerId}/${event}`] = [
      { employerIncentiveId: `${employerId}-${event}-once`, incentiveId: "1", rule: { kind: "once" }, reward: { description: "r" } },
      ...[2, 3, 5].map((days) => ({
        employerIncentiveId: `${employerId}-${event}-streak${days}`,
        incentiveId: String(days),
        rule: { kind: "streak", days } as const,
        reward: { description: "r" },
      })),
    ];
  }
}

/** What the User object does, event by event: add the day, award what newly holds. */
function replay(events: readonly Event[]) {
  const days = new Map<string, number[]>();
  const awarded = new Set<string>();
  const awardLog: string[] = [];
  for (const event of events) {
    const key = `${event.employerId}/${event.event}`;
    const set = distinctSortedDays([...(days.get(key) ?? []), localDayOf(event.timestamp, event.utcOffsetMinutes)]);
    days.set(key, set);
    for (const earned of newlyEarned(CANDIDATES[key]!, set, awarded)) {
      awarded.add(earned.employerIncentiveId);
      awardLog.push(earned.employerIncentiveId);
    }
  }
  const streaks = Object.fromEntries([...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, set]) => [key, summarizeDays(set)]));
  return { streaks, awards: [...awardLog].sort(), awardLog };
}

const eventArb = fc.record({
  employerId: fc.constantFrom(...EMPLOYERS),
  event: fc.constantFrom(...EVENTS),
  // Twelve days around a month end, at any minute, so offsets push events across midnight.
  timestamp: fc.integer({ min: Date.parse("2026-01-25T00:00:00.000Z"), max: Date.parse("2026-02-06T00:00:00.000Z") }),
  utcOffsetMinutes: fc.constantFrom(-720, -300, 0, 60, 330, 840),
});

/** Some events, and the same events again in any order with some of them repeated. */
const scenarioArb = fc
  .array(eventArb, { minLength: 1, maxLength: 40 })
  .chain((events) => fc.tuple(fc.constant(events), fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 40 })))
  .chain(([events, repeats]) => {
    const withDuplicates = [...events, ...repeats.map((i) => events[i]!)];
    return fc.tuple(
      fc.constant(events),
      fc.shuffledSubarray(withDuplicates, { minLength: withDuplicates.length, maxLength: withDuplicates.length }),
    );
  });

describe("streak evaluation (property)", () => {
  it("gives the same streaks and awards for any permutation of the events, with duplicates", () => {
    fc.assert(
      fc.property(scenarioArb, ([events, shuffled]) => {
        const first = replay(events);
        const second = replay(shuffled);
        expect(second.streaks).toEqual(first.streaks);
        expect(second.awards).toEqual(first.awards);
      }),
      { numRuns: 300 },
    );
  });

  it("awards each employer incentive at most once, exactly when its rule holds on the final set of days", () => {
    fc.assert(
      fc.property(scenarioArb, ([, shuffled]) => {
        const { awardLog } = replay(shuffled);
        expect(new Set(awardLog).size).toBe(awardLog.length);
        const finalDays = new Map<string, number[]>();
        for (const e of shuffled) {
          const key = `${e.employerId}/${e.event}`;
          finalDays.set(key, distinctSortedDays([...(finalDays.get(key) ?? []), localDayOf(e.timestamp, e.utcOffsetMinutes)]));
        }
        const expected = [...finalDays].flatMap(([key, days]) =>
          CANDIDATES[key]!.filter((c) => ruleHolds(c.rule, days)).map((c) => c.employerIncentiveId),
        );
        expect([...awardLog].sort()).toEqual(expected.sort());
      }),
      { numRuns: 300 },
    );
  });
});
