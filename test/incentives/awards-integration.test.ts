import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { User } from "../../durable-objects/user/user.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import type { IncentiveAwardMessage, QueueMessage } from "../../shared/messages.ts";
import { adminToken, call, callJson, eventually, serviceToken, tokenFor } from "../support/http.ts";
import { attach, awardsOf, consecutiveDays, createIncentive, eventMessage, expectAllAcked, streaksOf } from "./helpers.ts";
import { deliver } from "../support/queues.ts";

// Employers: 100 runs the program; 200 attached nothing. Users get their own ids per test.
const EMPLOYER = "100";
const OTHER_EMPLOYER = "200";
let fiveDayStreak: string;
let birthBonus: string;
let birthIncentive: string;

beforeAll(async () => {
  const streakIncentive = await createIncentive({ kind: "streak", event: "data-logged", days: 5 }, "Log five days in a row");
  birthIncentive = await createIncentive({ kind: "once", event: "birth-reported" }, "Report a birth");
  fiveDayStreak = await attach(EMPLOYER, "1", streakIncentive, "Pregnancy pillow");
  birthBonus = await attach(EMPLOYER, "1", birthIncentive, "Baby blanket");
});

async function logDays(userId: string, days: string[], prefix: string, offset = 0) {
  const messages = days.map((iso, i) => eventMessage(`${prefix}-${i}`, userId, EMPLOYER, "data-logged", iso, offset));
  expectAllAcked(await deliver("incentive-events", messages), messages.length);
}

describe("incentive awards", () => {
  it("awards the five-day streak once after five days in a row", async () => {
    const user = "1001";
    await logDays(user, consecutiveDays("2026-01-01", 4), "five-a");
    expect(await awardsOf(user)).toEqual([]);
    await logDays(user, consecutiveDays("2026-01-05", 1), "five-b");
    const awards = await awardsOf(user);
    expect(awards).toEqual([
      {
        awardId: `${user}-${fiveDayStreak}`,
        userId: user,
        employerId: EMPLOYER,
        employerIncentiveId: fiveDayStreak,
        incentiveId: expect.any(String),
        reward: { description: "Pregnancy pillow" },
        awardedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        fulfilledAt: expect.toBeOneOf([null, expect.any(String)]),
      },
    ]);
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 5, longest: 5, lastDay: "2026-01-05" },
    ]);
    // A sixth day keeps the streak going but earns nothing new.
    await logDays(user, consecutiveDays("2026-01-06", 1), "five-c");
    expect(await awardsOf(user)).toHaveLength(1);
  });

  it("awards when a late event fills the gap in four days", async () => {
    const user = "1002";
    await logDays(user, ["2026-02-01", "2026-02-02", "2026-02-04", "2026-02-05"].map((d) => `${d}T08:00:00.000Z`), "gap");
    expect(await awardsOf(user)).toEqual([]);
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 2, longest: 2, lastDay: "2026-02-05" },
    ]);
    await logDays(user, ["2026-02-03T20:00:00.000Z"], "gap-late");
    expect((await awardsOf(user)).map((a) => a.employerIncentiveId)).toEqual([fiveDayStreak]);
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 5, longest: 5, lastDay: "2026-02-05" },
    ]);
  });

  it("counts the same day twice as one day", async () => {
    const user = "1003";
    await logDays(user, ["2026-03-01T07:00:00.000Z", "2026-03-01T19:00:00.000Z", "2026-03-02T07:00:00.000Z"], "same");
    await logDays(user, ["2026-03-02T23:59:59.999Z", "2026-03-03T00:00:00.000Z", "2026-03-04T12:00:00.000Z"], "same-2");
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 4, longest: 4, lastDay: "2026-03-04" },
    ]);
    expect(await awardsOf(user)).toEqual([]);
  });

  it("places events on the user's local day across UTC midnight", async () => {
    // 21:00 in New York (UTC−5) is 02:00Z the next day: five evenings are local Jan 10–14.
    const user = "1004";
    await logDays(user, consecutiveDays("2026-01-11", 5, "02:00:00.000Z"), "west", -300);
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 5, longest: 5, lastDay: "2026-01-14" },
    ]);
    expect(await awardsOf(user)).toHaveLength(1);

    // 23:30Z and 00:30Z are two UTC days but one local day at UTC−2, and two local days at UTC+1.
    const west = "1005";
    await logDays(west, ["2026-04-10T23:30:00.000Z", "2026-04-11T00:30:00.000Z"], "west2", -120);
    expect(await streaksOf(west)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 1, longest: 1, lastDay: "2026-04-10" },
    ]);
    const east = "1006";
    await logDays(east, ["2026-04-10T22:30:00.000Z", "2026-04-10T23:30:00.000Z"], "east", 60);
    expect(await streaksOf(east)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 2, longest: 2, lastDay: "2026-04-11" },
    ]);
  });

  it("awards a birth reported twice once", async () => {
    const user = "1007";
    const first = eventMessage("birth-1", user, EMPLOYER, "birth-reported", "2026-05-01T10:00:00.000Z");
    const second = eventMessage("birth-2", user, EMPLOYER, "birth-reported", "2026-05-03T10:00:00.000Z");
    expectAllAcked(await deliver("incentive-events", [first, second]), 2);
    expectAllAcked(await deliver("incentive-events", [second]), 1);
    const awards = await awardsOf(user);
    expect(awards.map((a) => [a.employerIncentiveId, a.reward])).toEqual([[birthBonus, { description: "Baby blanket" }]]);
  });

  it("keeps one user's events away from another's streaks and awards", async () => {
    const alice = "1008";
    const bob = "1009";
    const days = consecutiveDays("2026-06-01", 5);
    const messages = [
      ...days.map((iso, i) => eventMessage(`alice-${i}`, alice, EMPLOYER, "data-logged", iso)),
      ...days.slice(0, 2).map((iso, i) => eventMessage(`bob-${i}`, bob, EMPLOYER, "data-logged", iso)),
    ];
    expectAllAcked(await deliver("incentive-events", messages), messages.length);
    expect(await awardsOf(alice)).toHaveLength(1);
    expect(await awardsOf(bob)).toEqual([]);
    expect(await streaksOf(bob)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 2, longest: 2, lastDay: "2026-06-02" },
    ]);
  });

  it("earns nothing from an employer that attached no incentive, and keeps its streak apart", async () => {
    const user = "1010";
    const messages = consecutiveDays("2026-07-01", 5).map((iso, i) =>
      eventMessage(`other-${i}`, user, OTHER_EMPLOYER, "data-logged", iso),
    );
    expectAllAcked(await deliver("incentive-events", messages), 5);
    await logDays(user, consecutiveDays("2026-07-01", 1), "mine");
    expect(await awardsOf(user)).toEqual([]);
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 1, longest: 1, lastDay: "2026-07-01" },
      { employerId: OTHER_EMPLOYER, event: "data-logged", current: 5, longest: 5, lastDay: "2026-07-05" },
    ]);
  });

  it("awards nothing new when a batch is redelivered", async () => {
    const user = "1011";
    const messages = [
      ...consecutiveDays("2026-08-01", 5).map((iso, i) => eventMessage(`redeliver-${i}`, user, EMPLOYER, "data-logged", iso)),
      eventMessage("redeliver-birth", user, EMPLOYER, "birth-reported", "2026-08-02T10:00:00.000Z"),
    ];
    expectAllAcked(await deliver("incentive-events", messages), 6);
    const before = await awardsOf(user);
    expect(before.map((a) => a.employerIncentiveId).sort()).toEqual([fiveDayStreak, birthBonus].sort());

    expectAllAcked(await deliver("incentive-events", messages, { attempts: 2 }), 6);
    expectAllAcked(await deliver("incentive-events", [...messages].reverse(), { attempts: 3 }), 6);
    const after = await awardsOf(user);
    expect(after.map(({ fulfilledAt: _, ...award }) => award)).toEqual(before.map(({ fulfilledAt: _, ...award }) => award));
    await runInDurableObject(userStub(env, user), async (instance: User) => {
      expect((await instance.recordActivity([])).awards).toEqual([]);
    });
  });

  it("finishes an award when the consumer crashed between the user object and D1", async () => {
    const user = "1012";
    const message = eventMessage("crash-birth", user, EMPLOYER, "birth-reported", "2026-09-01T10:00:00.000Z");
    // The first delivery reached the user object and died before writing D1.
    const { awards: [made] } = await userStub(env, user).recordActivity([
      {
        eventId: message.eventId,
        employerId: EMPLOYER,
        event: "birth-reported",
        localDay: Math.floor(message.timestamp / 86_400_000),
        candidates: [{ employerIncentiveId: birthBonus, incentiveId: birthIncentive, rule: { kind: "once" }, reward: { description: "Baby blanket" } }],
      },
    ]);
    expect(made?.employerIncentiveId).toBe(birthBonus);
    expect(await awardsOf(user)).toEqual([]);

    expectAllAcked(await deliver("incentive-events", [message], { attempts: 2 }), 1);
    const awards = await awardsOf(user);
    expect(awards).toHaveLength(1);
    expect(awards[0]).toMatchObject({ employerIncentiveId: birthBonus, incentiveId: birthIncentive, awardedAt: new Date(made!.awardedAt).toISOString() });
  });

  it("awards once under concurrent batches that each complete the streak", async () => {
    const user = "1013";
    await logDays(user, consecutiveDays("2026-10-01", 4), "race");
    const fifth = consecutiveDays("2026-10-05", 1)[0]!;
    const results = await Promise.all(
      ["race-a", "race-b", "race-c"].map((id) => deliver("incentive-events", [eventMessage(id, user, EMPLOYER, "data-logged", fifth)])),
    );
    for (const result of results) expectAllAcked(result, 1);
    expect(await awardsOf(user)).toHaveLength(1);
  });

  it("awards each program's link of the same incentive", async () => {
    const employer = "300";
    const incentive = await createIncentive({ kind: "once", event: "steps-logged" });
    const wellness = await attach(employer, "1", incentive, "Water bottle");
    const fitness = await attach(employer, "2", incentive, "Gym voucher");
    const user = "1014";
    expectAllAcked(await deliver("incentive-events", [eventMessage("steps-1", user, employer, "steps-logged", "2026-01-01T10:00:00.000Z")]), 1);
    expect((await awardsOf(user)).map((a) => a.employerIncentiveId).sort()).toEqual([wellness, fitness].sort());
  });

  it("awards nothing from a retired incentive until it is reinstated", async () => {
    const incentive = await createIncentive({ kind: "once", event: "quiz-done" });
    const link = await attach(EMPLOYER, "1", incentive, "Book");
    const admin = await adminToken();
    expect((await call("PATCH", `/incentives/${incentive}`, { token: admin, body: { active: false } })).status).toBe(200);
    const user = "1017";
    expectAllAcked(await deliver("incentive-events", [eventMessage("quiz-1", user, EMPLOYER, "quiz-done", "2026-01-01T10:00:00.000Z")]), 1);
    expect(await awardsOf(user)).toEqual([]);
    expect((await call("PATCH", `/incentives/${incentive}`, { token: admin, body: { active: true } })).status).toBe(200);
    expectAllAcked(await deliver("incentive-events", [eventMessage("quiz-2", user, EMPLOYER, "quiz-done", "2026-01-02T10:00:00.000Z")]), 1);
    expect((await awardsOf(user)).map((a) => a.employerIncentiveId)).toEqual([link]);
  });

  it("lists awards per employer to that employer", async () => {
    expectAllAcked(await deliver("incentive-events", [eventMessage("list-birth", "1016", EMPLOYER, "birth-reported", "2026-01-01T10:00:00.000Z")]), 1);
    expectAllAcked(await deliver("incentive-events", [eventMessage("list-other", "1016", "300", "steps-logged", "2026-01-01T10:00:00.000Z")]), 1);
    const { status, body } = await callJson("GET", `/employers/${EMPLOYER}/awards`, {
      token: await tokenFor("500", ["employer"], { employerId: EMPLOYER }),
    });
    expect(status).toBe(200);
    expect(body.awards.length).toBeGreaterThan(0);
    expect(body.awards.every((a: { employerId: string }) => a.employerId === EMPLOYER)).toBe(true);
    const times = body.awards.map((a: { awardedAt: string }) => a.awardedAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("publishes each award on incentive-awards, where fulfilment marks it once", async () => {
    const user = "1015";
    expectAllAcked(await deliver("incentive-events", [eventMessage("fulfil-birth", user, EMPLOYER, "birth-reported", "2026-11-01T10:00:00.000Z")]), 1);
    const fulfilled = await eventually(async () => {
      const [award] = await awardsOf(user);
      return award?.fulfilledAt ? award : undefined;
    });
    expect(fulfilled.fulfilledAt).toMatch(/Z$/);
  });
});

describe("incentive consumers", () => {
  it("sends a message of the wrong shape towards the dead letters instead of acking it", async () => {
    const malformed = { kind: "incentive-event", eventId: 5, userId: "1" } as unknown as QueueMessage;
    const result = await deliver("incentive-events", [malformed, eventMessage("fine-1", "1200", EMPLOYER, "data-logged", "2026-01-01T10:00:00.000Z")]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(1);
    const awardResult = await deliver("incentive-awards", [malformed]);
    expect(awardResult.retryMessages).toHaveLength(1);
  });

  it("fulfils a redelivered award message once", async () => {
    const user = "1201";
    const award: IncentiveAwardMessage = {
      kind: "incentive-award",
      awardId: `${user}-${birthBonus}`,
      userId: user,
      employerId: EMPLOYER,
      employerIncentiveId: birthBonus,
      incentiveId: birthIncentive,
      reward: { description: "Baby blanket" },
      awardedAt: Date.parse("2026-01-01T10:00:00.000Z"),
      eventId: "fulfil-direct",
    };
    expectAllAcked(await deliver("incentive-awards", [award]), 1);
    const [first] = await awardsOf(user);
    expect(first).toMatchObject({ awardId: award.awardId, awardedAt: "2026-01-01T10:00:00.000Z", fulfilledAt: expect.any(String) });
    expectAllAcked(await deliver("incentive-awards", [award, award], { attempts: 2 }), 2);
    expect(await awardsOf(user)).toEqual([first]);
  });
});

describe("incentive events end to end", () => {
  it("goes from POST /incentives/events through both queues to a fulfilled award", async () => {
    const user = "1100";
    // Twenty days ago on: the endpoint refuses events older than 400 days, so these follow today.
    const firstDay = new Date(Date.now() - 20 * 86_400_000).toISOString().slice(0, 10);
    const days = consecutiveDays(firstDay, 5, "21:30:00.000Z");
    for (const [i, timestamp] of days.entries()) {
      const body = { eventId: `e2e-${i}`, userId: Number(user), employerId: EMPLOYER, event: "data-logged", timestamp, utcOffsetMinutes: 180 };
      const first = await callJson("POST", "/incentives/events", { token: await serviceToken(), body });
      expect(first).toMatchObject({ status: 202, body: { eventId: `e2e-${i}` } });
      // The client resends: same answer, and nothing counts twice.
      expect(await callJson("POST", "/incentives/events", { token: await serviceToken(), body })).toMatchObject({ status: 202, body: { eventId: `e2e-${i}` } });
    }
    const award = await eventually(async () => {
      const [found] = await awardsOf(user);
      return found?.fulfilledAt ? found : undefined;
    });
    expect(award).toMatchObject({ userId: user, employerIncentiveId: fiveDayStreak, reward: { description: "Pregnancy pillow" } });
    expect(await awardsOf(user)).toHaveLength(1);
    // 21:30Z at UTC+3 is 00:30 the next local day.
    expect(await streaksOf(user)).toEqual([
      { employerId: EMPLOYER, event: "data-logged", current: 5, longest: 5, lastDay: new Date(Date.parse(firstDay) + 5 * 86_400_000).toISOString().slice(0, 10) },
    ]);
  });
});
