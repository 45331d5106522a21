import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Activity, type AwardCandidate, localDayOf } from "../../durable-objects/user/streak-rules.ts";
import { userStub } from "../../durable-objects/user/stub.ts";

const CANDIDATES: AwardCandidate[] = [
  { employerIncentiveId: "1", incentiveId: "1", rule: { kind: "once" }, reward: { description: "welcome" } },
  { employerIncentiveId: "2", incentiveId: "2", rule: { kind: "streak", days: 3 }, reward: { description: "mug" } },
  { employerIncentiveId: "3", incentiveId: "3", rule: { kind: "streak", days: 5 }, reward: { description: "pillow" } },
];

const activityArb = fc
  .record({
    employerId: fc.constantFrom("1", "2"),
    timestamp: fc.integer({ min: Date.parse("2026-03-01T00:00:00.000Z"), max: Date.parse("2026-03-09T00:00:00.000Z") }),
    utcOffsetMinutes: fc.constantFrom(-300, 0, 540),
  })
  .map(
    ({ employerId, timestamp, utcOffsetMinutes }): Activity => ({
      eventId: `${employerId}@${timestamp}${utcOffsetMinutes}`,
      employerId,
      event: "data-logged",
      localDay: localDayOf(timestamp, utcOffsetMinutes),
      // Employer 2 attached only the streaks, under employer incentive ids of its own.
      candidates: employerId === "1" ? CANDIDATES : CANDIDATES.slice(1).map((c) => ({ ...c, employerIncentiveId: `2${c.employerIncentiveId}` })),
    }),
  );

/** Activities, then the same again shuffled with repeats, cut into batches of any size. */
const scenarioArb = fc
  .array(activityArb, { minLength: 1, maxLength: 25 })
  .chain((activities) =>
    fc.tuple(fc.constant(activities), fc.array(fc.nat({ max: activities.length - 1 }), { maxLength: 15 })),
  )
  .chain(([activities, repeats]) => {
    const all = [...activities, ...repeats.map((i) => activities[i]!)];
    return fc.tuple(
      fc.constant(activities),
      fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
      fc.integer({ min: 1, max: 6 }),
    );
  });

let run = 0;

/** Feeds batches to a fresh User object as the consumer does (record, then confirm) and returns what it awarded. */
async function feed(activities: Activity[], batchSize: number) {
  const user = userStub(env, `property-${++run}`);
  const awarded: string[] = [];
  for (let start = 0; start < activities.length; start += batchSize) {
    const { awards: unconfirmed } = await user.recordActivity(activities.slice(start, start + batchSize));
    awarded.push(...unconfirmed.map((a) => `${a.employerId}/${a.employerIncentiveId}`));
    await user.confirmAwards(unconfirmed.map((a) => a.employerIncentiveId));
  }
  return { streaks: await user.streaks(), awarded: awarded.sort() };
}

describe("User streak store (property, real object)", () => {
  it("ends with the same streaks and awards, each made once, for any order, batching and duplicates", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ([activities, shuffled, batchSize]) => {
        const inOrder = await feed(activities, 1);
        const shuffledRun = await feed(shuffled, batchSize);
        expect(shuffledRun.streaks).toEqual(inOrder.streaks);
        expect(shuffledRun.awarded).toEqual(inOrder.awarded);
        expect(new Set(shuffledRun.awarded).size).toBe(shuffledRun.awarded.length);
      }),
      // Each run creates two fresh objects, which is what costs time here; the pure property test runs 300.
      { numRuns: 12 },
    );
  });
});
