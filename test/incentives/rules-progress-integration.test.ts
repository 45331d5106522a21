import { describe, expect, it } from "vitest";
import type { IncentiveEvaluateMessage } from "../../shared/messages.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, call, callJson, eventually, tokenFor } from "../support/http.ts";
import { attach, awardsOf, createIncentive, eventMessage, expectAllAcked } from "./helpers.ts";
import { uniqueId } from "../support/ids.ts";
import { deliver } from "../support/queues.ts";

/** 09:00 UTC `daysAgo` days before today, as the consumer gets it. */
const dayAgo = (daysAgo: number, time = "09:00:00.000") => new Date(utcDaysAhead(-daysAgo, time)).toISOString();

const employerToken = (employerId: string) => tokenFor(`9${employerId}`, ["employer"], { employerId });

type Award = { awardId: string; userId: string; employerIncentiveId: string; awardedAt: string };
type Progress = { userId: string; employerIncentiveId: string; current: number; needed: number; awarded: boolean };

async function employerAwards(employerId: string): Promise<Award[]> {
  const { status, body } = await callJson("GET", `/employers/${employerId}/awards?limit=1000`, { token: await adminToken() });
  expect(status).toBe(200);
  return body.awards;
}

/** One event per day, `daysAgo` each, for `userId`. */
function loggedOn(userId: string, employerId: string, event: string, daysAgo: number[]) {
  return daysAgo.map((d) => eventMessage(`${event}-${userId}-${d}`, userId, employerId, event, dayAgo(d)));
}

describe("count rules", () => {
  it("award at the times-th event within withinDays local days, not when spread wider, once under redelivery", async () => {
    const employerId = uniqueId();
    const event = `steps-logged-${employerId}`;
    const incentiveId = await createIncentive({ kind: "count", event, times: 3, withinDays: 2 });
    const listed = await callJson("GET", `/incentives?event=${event}`);
    expect(listed.body.incentives[0].rule).toEqual({ kind: "count", event, times: 3, withinDays: 2 });
    const link = await attach(employerId, "1", incentiveId, "Step counter");
    const [dense, spread, repeated] = [uniqueId(), uniqueId(), uniqueId()];

    // Two events yesterday, then one today: the third falls within two local days.
    const denseEvents = [
      eventMessage(`d1-${dense}`, dense, employerId, event, dayAgo(1, "08:00:00.000")),
      eventMessage(`d2-${dense}`, dense, employerId, event, dayAgo(1, "18:00:00.000")),
      eventMessage(`d3-${dense}`, dense, employerId, event, dayAgo(0, "00:30:00.000")),
    ];
    expectAllAcked(await deliver("incentive-events", denseEvents.slice(0, 2)), 2);
    expect(await awardsOf(dense)).toEqual([]);
    expectAllAcked(await deliver("incentive-events", [denseEvents[2]!]), 1);
    const awarded = await awardsOf(dense);
    expect(awarded).toMatchObject([{ userId: dense, employerIncentiveId: link, incentiveId }]);

    // Three events on three days: no window of two days holds all three.
    expectAllAcked(await deliver("incentive-events", loggedOn(spread, employerId, event, [6, 5, 4])), 3);
    expect(await awardsOf(spread)).toEqual([]);

    // One event delivered three times is one event.
    const once = eventMessage(`r1-${repeated}`, repeated, employerId, event, dayAgo(2));
    expectAllAcked(await deliver("incentive-events", [once, once]), 2);
    expectAllAcked(await deliver("incentive-events", [once], { attempts: 2 }), 1);
    expect(await awardsOf(repeated)).toEqual([]);

    // Redelivered events award nothing again (the award's fulfilment may land meanwhile).
    expectAllAcked(await deliver("incentive-events", denseEvents, { attempts: 3 }), 3);
    const withoutFulfilment = (awards: Array<Record<string, unknown>>) => awards.map(({ fulfilledAt: _, ...award }) => award);
    expect(withoutFulfilment(await awardsOf(dense))).toEqual(withoutFulfilment(awarded));
  });
});

describe("rule changes", () => {
  it("re-evaluate history within 60 s when a streak drops from 5 to 3 days, keep earlier awards, award each once under redelivery", async () => {
    const [employerId, otherEmployerId] = [uniqueId(), uniqueId()];
    const event = `data-logged-${employerId}`;
    const incentiveId = await createIncentive({ kind: "streak", event, days: 5 });
    const link = await attach(employerId, "1", incentiveId, "Pillow");
    const otherLink = await attach(otherEmployerId, "1", incentiveId, "Mug");
    const users = { five: uniqueId(), four: uniqueId(), three: uniqueId(), two: uniqueId(), gap: uniqueId() };
    const messages = [
      ...loggedOn(users.five, employerId, event, [10, 9, 8, 7, 6]),
      ...loggedOn(users.four, employerId, event, [10, 9, 8, 7]),
      ...loggedOn(users.three, employerId, event, [5, 4, 3]),
      ...loggedOn(users.two, employerId, event, [3, 2]),
      ...loggedOn(users.gap, employerId, event, [9, 8, 6, 5]),
    ];
    const otherThree = uniqueId();
    messages.push(...loggedOn(otherThree, otherEmployerId, event, [4, 3, 2]));
    expectAllAcked(await deliver("incentive-events", messages), messages.length);
    const before = await employerAwards(employerId);
    expect(before.map((a) => a.userId)).toEqual([users.five]);

    const admin = await adminToken();
    const changed = await callJson("PATCH", `/incentives/${incentiveId}`, { token: admin, body: { rule: { kind: "streak", event, days: 3 } } });
    expect(changed.status).toBe(200);
    expect(changed.body.incentive).toMatchObject({ incentiveId, rule: { kind: "streak", event, days: 3 }, active: true });
    const changedAt = Date.now();
    const after = await eventually(async () => {
      const [awards, other] = await Promise.all([employerAwards(employerId), employerAwards(otherEmployerId)]);
      return awards.length >= 3 && other.length >= 1 ? { awards, other } : undefined;
    }, 60_000, 200);
    expect(Date.now() - changedAt).toBeLessThan(60_000);
    expect(after.awards.map((a) => a.userId).sort()).toEqual([users.five, users.four, users.three].sort());
    expect(after.awards.every((a) => a.employerIncentiveId === link)).toBe(true);
    expect(after.other).toMatchObject([{ userId: otherThree, employerIncentiveId: otherLink }]);
    // The award made under the old rule stays as it was (fulfilment may have happened since).
    expect(after.awards.find((a) => a.userId === users.five)).toMatchObject({ awardId: before[0]!.awardId, awardedAt: before[0]!.awardedAt });

    // Redelivered evaluations, events and a repeated PATCH award nobody twice; a stricter rule revokes nothing.
    const evaluate: IncentiveEvaluateMessage = { kind: "incentive-evaluate", employerId, event, afterUserId: null };
    expectAllAcked(await deliver("incentive-events", [evaluate, evaluate], { attempts: 2 }), 2);
    expectAllAcked(await deliver("incentive-events", messages, { attempts: 2 }), messages.length);
    expect((await callJson("PATCH", `/incentives/${incentiveId}`, { token: admin, body: { rule: { kind: "streak", event, days: 3 } } })).status).toBe(200);
    expect((await callJson("PATCH", `/incentives/${incentiveId}`, { token: admin, body: { rule: { kind: "streak", event, days: 8 } } })).status).toBe(200);
    expectAllAcked(await deliver("incentive-events", [evaluate]), 1);
    const final = await employerAwards(employerId);
    expect(final).toHaveLength(3);
    expect(final.map((a) => a.awardId).sort()).toEqual(after.awards.map((a) => a.awardId).sort());
    for (const user of [users.two, users.gap]) expect(await awardsOf(user)).toEqual([]);
  }, 120_000);

  it("change a count rule's times and withinDays, and name, description and active beside it", async () => {
    const event = `steps-${uniqueId()}`;
    const incentiveId = await createIncentive({ kind: "count", event, times: 10, withinDays: 7 });
    const { status, body } = await callJson("PATCH", `/incentives/${incentiveId}`, {
      token: await adminToken(),
      body: { name: "Five in a fortnight", description: "Steps", rule: { kind: "count", event, times: 5, withinDays: 14 }, active: false },
    });
    expect(status).toBe(200);
    expect(body.incentive).toEqual({
      incentiveId,
      name: "Five in a fortnight",
      description: "Steps",
      rule: { kind: "count", event, times: 5, withinDays: 14 },
      active: false,
    });
  });

  it("refuse fields of another kind, another kind or event with 422 naming the field, and change nothing", async () => {
    const event = `logged-${uniqueId()}`;
    const incentiveId = await createIncentive({ kind: "streak", event, days: 5 });
    const token = await adminToken();
    const path = `/incentives/${incentiveId}`;
    const cases: Array<[unknown, number, string[]]> = [
      [{ rule: { kind: "streak", event, days: 3, times: 2 } }, 422, ["rule.times"]],
      [{ rule: { kind: "streak", event, days: 3, withinDays: 2 } }, 422, ["rule.withinDays"]],
      [{ rule: { kind: "count", event, times: 3, withinDays: 2 } }, 422, ["rule.kind"]],
      [{ rule: { kind: "streak", event: "other-event", days: 3 } }, 422, ["rule.event"]],
      [{ rule: { kind: "streak", event, days: 0 } }, 400, ["rule.days"]],
      [{ rule: { kind: "count", event, times: 0, withinDays: 2 } }, 400, ["rule.times"]],
      [{ rule: { kind: "streak", event } }, 400, ["rule.days"]],
      [{}, 400, ["body"]],
    ];
    for (const [body, status, paths] of cases) {
      const response = await callJson("PATCH", path, { token, body });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.body.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toEqual(paths);
    }
    // A new incentive is held to its kind's fields the same way.
    const mixed = await callJson("POST", "/incentives", { token, body: { name: "x", rule: { kind: "once", event, days: 2 } } });
    expect(mixed.status).toBe(422);
    expect(mixed.body.errors.map((e: { path: string }) => e.path)).toEqual(["rule.days"]);
    const listed = await callJson("GET", `/incentives?event=${event}`);
    expect(listed.body.incentives).toMatchObject([{ incentiveId, rule: { kind: "streak", event, days: 5 } }]);

    expect((await call("PATCH", "/incentives/987654321", { token, body: { rule: { kind: "streak", event, days: 3 } } })).status).toBe(404);
    const body = { rule: { kind: "streak", event, days: 3 } };
    expect((await call("PATCH", path, { body })).status).toBe(401);
    expect((await call("PATCH", path, { body, token: await employerToken("1") })).status).toBe(403);
  });
});

describe("employer progress", () => {
  it("lists each employee's progress toward each attached incentive, paged by limit and cursor", async () => {
    const employerId = uniqueId();
    const event = `data-logged-${employerId}`;
    const streak = await attach(employerId, "1", await createIncentive({ kind: "streak", event, days: 5 }), "Pillow");
    const count = await attach(employerId, "2", await createIncentive({ kind: "count", event, times: 4, withinDays: 3 }), "Mug");
    const base = Number(uniqueId()) * 10;
    // User i logged on the i days ending yesterday (1…5 days).
    const users = Array.from({ length: 5 }, (_, i) => String(base + i));
    const messages = users.flatMap((userId, i) => loggedOn(userId, employerId, event, Array.from({ length: i + 1 }, (_, d) => d + 1)));
    expectAllAcked(await deliver("incentive-events", messages), messages.length);

    const boss = await employerToken(employerId);
    const pageThrough = async (query: string, limit: number) => {
      const rows: Progress[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const after: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
        const page = await callJson("GET", `/employers/${employerId}/progress?limit=${limit}${query}${after}`, { token: boss });
        expect(page.status).toBe(200);
        expect(page.body.progress.length).toBeLessThanOrEqual(limit);
        rows.push(...page.body.progress);
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 20);
      return { rows, pages };
    };

    const streakOnly = await pageThrough(`&employerIncentiveId=${streak}`, 2);
    expect(streakOnly.pages).toBe(3);
    expect(streakOnly.rows).toEqual(
      users.map((userId, i) => ({ userId, employerIncentiveId: streak, current: i + 1, needed: 5, awarded: i === 4 })),
    );

    const all = await pageThrough("", 2);
    expect(all.pages).toBe(5);
    expect(new Set(all.rows.map((r) => `${r.userId}/${r.employerIncentiveId}`)).size).toBe(10);
    // Four events within three days: three at most, one a day.
    expect(all.rows.filter((r) => r.employerIncentiveId === count)).toEqual(
      users.map((userId, i) => ({ userId, employerIncentiveId: count, current: Math.min(i + 1, 3), needed: 4, awarded: false })),
    );
    const whole = await callJson("GET", `/employers/${employerId}/progress`, { token: await adminToken() });
    expect(whole.body).toEqual({ progress: all.rows, nextCursor: null });

    expect((await call("GET", `/employers/${employerId}/progress`, { token: await employerToken(uniqueId()) })).status).toBe(403);
    expect((await call("GET", `/employers/${employerId}/progress`)).status).toBe(401);
    expect((await call("GET", `/employers/${employerId}/progress?cursor=nope`, { token: boss })).status).toBe(400);
    expect((await call("GET", `/employers/${employerId}/progress?limit=101`, { token: boss })).status).toBe(400);
  });
});
