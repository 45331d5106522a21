import { describe, expect, it } from "vitest";
import type { IncentiveEvaluateMessage } from "../../shared/messages.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { createIncentive, eventMessage, expectAllAcked } from "./helpers.ts";
import { deliver } from "../support/queues.ts";

async function attachFrom(employerId: string, programId: string, incentiveId: string, countFrom: "history" | "attach"): Promise<string> {
  const { status, body } = await callJson("POST", `/employers/${employerId}/programs/${programId}/incentives`, {
    token: await tokenFor(`9${employerId}`, ["employer"], { employerId }),
    body: { incentiveId, reward: { description: `reward ${countFrom}` }, countFrom },
  });
  expect(status).toBe(201);
  return body.employerIncentive.employerIncentiveId as string;
}

async function employerAwards(employerId: string): Promise<Array<{ userId: string; employerIncentiveId: string }>> {
  const { body } = await callJson("GET", `/employers/${employerId}/awards?limit=1000`, { token: await adminToken() });
  return body.awards;
}

describe("retroactive awards on attach", () => {
  it("awards the 40 users whose 5 logged days predate the attach within 60 s with history, none with attach, each once under redelivery", async () => {
    const employerId = String(770_000 + Math.floor(Math.random() * 10_000));
    const event = `data-logged-${employerId}`;
    const users = Array.from({ length: 40 }, (_, i) => String(Number(employerId) * 100 + i));
    const messages = users.flatMap((userId) =>
      [-10, -9, -8, -7, -6].map((day) => eventMessage(`${userId}-${day}`, userId, employerId, event, new Date(utcDaysAhead(day, "09:00:00.000")).toISOString())),
    );
    for (let i = 0; i < messages.length; i += 100) expectAllAcked(await deliver("incentive-events", messages.slice(i, i + 100)), Math.min(100, messages.length - i));
    expect(await employerAwards(employerId)).toEqual([]);

    const incentiveId = await createIncentive({ kind: "streak", event, days: 5 });
    const fromAttach = await attachFrom(employerId, "2", incentiveId, "attach");
    const fromHistory = await attachFrom(employerId, "1", incentiveId, "history");
    const attachedAt = Date.now();
    const awarded = await eventually(async () => {
      const awards = await employerAwards(employerId);
      return awards.length >= 40 ? awards : undefined;
    }, 60_000, 200);
    expect(Date.now() - attachedAt).toBeLessThan(60_000);
    expect(awarded.map((a) => a.userId).sort()).toEqual([...users].sort());
    expect(new Set(awarded.map((a) => a.employerIncentiveId))).toEqual(new Set([fromHistory]));

    // Redelivered evaluation and events award nothing twice, and the attach-mode link still nothing.
    const again: IncentiveEvaluateMessage = { kind: "incentive-evaluate", employerId, event, afterUserId: null };
    expectAllAcked(await deliver("incentive-events", [again, again]), 2);
    expectAllAcked(await deliver("incentive-events", messages.slice(0, 100), { attempts: 2 }), 100);
    const after = await employerAwards(employerId);
    expect(after).toHaveLength(40);
    expect(after.some((a) => a.employerIncentiveId === fromAttach)).toBe(false);
  }, 120_000);
});
