import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AwardCandidate,
  distinctSortedDays,
  type History,
  isoDay,
  localDayOf,
  mostEventsWithin,
  newlyEarned,
  progressOf,
  ruleHolds,
  summarizeDays,
} from "../../durable-objects/user/streak-rules.ts";

const day = (iso: string) => localDayOf(Date.parse(`${iso}T12:00:00.000Z`));
/** A history of one event a day on each of `days`. */
const daily = (days: number[]): History => ({ days, eventDays: days });

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
    expect(ruleHolds(fiveDays, daily(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"].map(day)))).toBe(false);
    expect(ruleHolds(fiveDays, daily(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"].map(day)))).toBe(true);
  });

  it("is not fooled by five days with a gap", () => {
    expect(ruleHolds(fiveDays, daily(["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05", "2026-01-06"].map(day)))).toBe(false);
  });

  it("holds once a late day fills the gap", () => {
    const days = distinctSortedDays(["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05", "2026-01-03"].map(day));
    expect(ruleHolds(fiveDays, daily(days))).toBe(true);
  });

  it("holds for a streak that is no longer current", () => {
    const days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-02-01"].map(day);
    expect(ruleHolds(fiveDays, daily(days))).toBe(true);
  });

  it("holds a once rule on the first event", () => {
    expect(ruleHolds({ kind: "once" }, daily([]))).toBe(false);
    expect(ruleHolds({ kind: "once" }, daily([day("2026-01-01")]))).toBe(true);
  });

  it("holds a count rule at the times-th event within withinDays days, counting events rather than days", () => {
    const threeInTwoDays = { kind: "count", times: 3, withinDays: 2 } as const;
    const [d1, d2, d3] = ["2026-01-01", "2026-01-02", "2026-01-03"].map(day) as [number, number, number];
    expect(ruleHolds(threeInTwoDays, { days: [d1, d2], eventDays: [d1, d2] })).toBe(false);
    expect(ruleHolds(threeInTwoDays, { days: [d1, d2], eventDays: [d1, d1, d2] })).toBe(true);
    expect(ruleHolds(threeInTwoDays, { days: [d1], eventDays: [d1, d1, d1] })).toBe(true);
    // Spread over three days, the window of two holds only two of them.
    expect(ruleHolds(threeInTwoDays, daily([d1, d2, d3]))).toBe(false);
    expect(ruleHolds({ ...threeInTwoDays, withinDays: 3 }, daily([d1, d2, d3]))).toBe(true);
  });
});

describe("mostEventsWithin", () => {
  it("finds the densest window anywhere in the history", () => {
    expect(mostEventsWithin([], 7)).toBe(0);
    expect(mostEventsWithin([1, 2, 10, 10, 11, 30], 2)).toBe(3);
    expect(mostEventsWithin([1, 2, 10, 10, 11, 30], 1)).toBe(2);
    expect(mostEventsWithin([1, 2, 10, 10, 11, 30], 30)).toBe(6);
  });
});

describe("progressOf", () => {
  it("reads the latest run, the latest window or the one-off", () => {
    const days = [1, 2, 3, 5, 6];
    expect(progressOf({ kind: "streak", days: 5 }, daily(days))).toEqual({ current: 2, needed: 5 });
    expect(progressOf({ kind: "count", times: 4, withinDays: 3 }, { days, eventDays: [1, 2, 3, 5, 5, 6] })).toEqual({ current: 3, needed: 4 });
    expect(progressOf({ kind: "once" }, daily([]))).toEqual({ current: 0, needed: 1 });
    expect(progressOf({ kind: "once" }, daily(days))).toEqual({ current: 1, needed: 1 });
    expect(progressOf({ kind: "count", times: 4, withinDays: 3 }, daily([]))).toEqual({ current: 0, needed: 4 });
  });
});

describe("newlyEarned", () => {
  const pillow: AwardCandidate = { employerIncentiveId: "1", incentiveId: "10", rule: { kind: "once" }, reward: { description: "pillow" } };
  const mug: AwardCandidate = { employerIncentiveId: "2", incentiveId: "11", rule: { kind: "streak", days: 2 }, reward: { description: "mug" } };

  it("returns the candidates that hold and were not awarded before", () => {
    const days = [day("2026-01-01"), day("2026-01-02")];
    expect(newlyEarned([pillow, mug], daily(days), new Set())).toEqual([pillow, mug]);
    expect(newlyEarned([pillow, mug], daily(days), new Set(["1"]))).toEqual([mug]);
    expect(newlyEarned([pillow, mug], daily([day("2026-01-01")]), new Set())).toEqual([pillow]);
  });

  it("returns a candidate listed twice once", () => {
    expect(newlyEarned([pillow, pillow], daily([day("2026-01-01")]), new Set())).toEqual([pillow]);
  });
});

interface Event {
  eventId: string;
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
      ...[
        [3, 2],
        [4, 5],
      ].map(([times, withinDays]) => ({
        employerIncentiveId: `${employerId}-${event}-count${times}in${withinDays}`,
        incentiveId: `${times}${withinDays}`,
        rule: { kind: "count", times: times!, withinDays: withinDays! } as const,
        reward: { description: "r" },
      })),
    ];
  }
}

/** Each key's history after `events`: distinct days, and one day per distinct event id. */
function histories(events: readonly Event[]): Map<string, History> {
  const byKey = new Map<string, Map<string, number>>();
  for (const event of events) {
    const key = `${event.employerId}/${event.event}`;
    const byId = byKey.get(key) ?? new Map<string, number>();
    byId.set(event.eventId, localDayOf(event.timestamp, event.utcOffsetMinutes));
    byKey.set(key, byId);
  }
  return new Map(
    [...byKey].map(([key, byId]) => [key, { days: distinctSortedDays(byId.values()), eventDays: [...byId.values()].sort((a, b) => a - b) }]),
  );
}

/** What the User object does, event by event: add the day and the event, award what newly holds. */
function replay(events: readonly Event[]) {
  const seen: Event[] = [];
  const awarded = new Set<string>();
  const awardLog: string[] = [];
  for (const event of events) {
    const key = `${event.employerId}/${event.event}`;
    seen.push(event);
    for (const earned of newlyEarned(CANDIDATES[key]!, histories(seen).get(key)!, awarded)) {
      awarded.add(earned.employerIncentiveId);
      awardLog.push(earned.employerIncentiveId);
    }
  }
  const streaks = Object.fromEntries(
    [...histories(events)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, history]) => [key, summarizeDays(history.days)]),
  );
  return { streaks, awards: [...awardLog].sort(), awardLog };
}

const eventArb = fc.record({
  eventId: fc.uuid(),
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
        const expected = [...histories(shuffled)].flatMap(([key, history]) =>
          CANDIDATES[key]!.filter((c) => ruleHolds(c.rule, history)).map((c) => c.employerIncentiveId),
        );
        expect([...awardLog].sort()).toEqual(expected.sort());
      }),
      { numRuns: 300 },
    );
  });
});
