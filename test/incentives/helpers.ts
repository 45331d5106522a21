import type { QueueResult } from "cloudflare:test";
import { expect } from "vitest";
import type { IncentiveEventMessage } from "../../shared/messages.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";

export interface Rule {
  kind: "streak" | "once" | "count";
  event: string;
  days?: number;
  times?: number;
  withinDays?: number;
}

/** Adds a catalogue incentive as an admin and returns its id. */
export async function createIncentive(rule: Rule, name = `${rule.kind} ${rule.event}`): Promise<string> {
  const { status, body } = await callJson("POST", "/incentives", {
    token: await adminToken(),
    body: { name, description: `${name} (test)`, rule },
  });
  expect(status).toBe(201);
  return body.incentive.incentiveId as string;
}

/** Attaches an incentive to an employer's program as that employer and returns the employer incentive id. */
export async function attach(employerId: string, programId: string, incentiveId: string, reward: string): Promise<string> {
  const { status, body } = await callJson("POST", `/employers/${employerId}/programs/${programId}/incentives`, {
    token: await tokenFor(`9${employerId}`, ["employer"], { employerId }),
    body: { incentiveId, reward: { description: reward } },
  });
  expect(status).toBe(201);
  return body.employerIncentive.employerIncentiveId as string;
}

/** An incentive event message as `POST /incentives/events` would queue it. */
export function eventMessage(
  eventId: string,
  userId: string,
  employerId: string,
  event: string,
  isoTimestamp: string,
  utcOffsetMinutes = 0,
): IncentiveEventMessage {
  return { kind: "incentive-event", eventId, userId, employerId, event, timestamp: Date.parse(isoTimestamp), utcOffsetMinutes };
}

/** Every message of the batch was acked, none retried. */
export function expectAllAcked(result: QueueResult, count: number): void {
  expect(result.retryMessages).toEqual([]);
  expect(result.explicitAcks).toHaveLength(count);
}

export async function awardsOf(userId: string): Promise<Array<Record<string, unknown>>> {
  const { status, body } = await callJson("GET", `/users/${userId}/awards`, { token: await tokenFor(userId) });
  expect(status).toBe(200);
  return body.awards;
}

export async function streaksOf(userId: string): Promise<Array<Record<string, unknown>>> {
  const { status, body } = await callJson("GET", `/users/${userId}/streaks`, { token: await tokenFor(userId) });
  expect(status).toBe(200);
  return body.streaks;
}

/** `n` consecutive ISO timestamps at `time` UTC, starting on `firstDay`. */
export function consecutiveDays(firstDay: string, n: number, time = "09:00:00.000Z"): string[] {
  const start = Date.parse(`${firstDay}T00:00:00.000Z`);
  return Array.from({ length: n }, (_, i) => `${new Date(start + i * 86_400_000).toISOString().slice(0, 10)}T${time}`);
}
