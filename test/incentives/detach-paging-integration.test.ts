import { describe, expect, it } from "vitest";
import { adminToken, callJson, serviceToken, tokenFor } from "../support/http.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { attach, awardsOf, createIncentive, eventMessage, expectAllAcked } from "./helpers.ts";
import { uniqueId } from "../support/ids.ts";
import { deliver } from "../support/queues.ts";

describe("detaching an employer incentive", () => {
  it("stops new awards from it and keeps the awards made", async () => {
    const employerId = uniqueId();
    const event = `birth-${employerId}`;
    const incentiveId = await createIncentive({ kind: "once", event });
    const link = await attach(employerId, "1", incentiveId, "Blanket");
    const [early, late] = [uniqueId(), uniqueId()];
    const when = new Date(Date.now() - 3_600_000).toISOString();
    expectAllAcked(await deliver("incentive-events", [eventMessage(`e-${early}`, early, employerId, event, when)]), 1);
    expect(await awardsOf(early)).toHaveLength(1);

    const employer = await tokenFor(`9${employerId}`, ["employer"], { employerId });
    const path = `/employers/${employerId}/programs/1/incentives/${link}`;
    const detached = await callJson("DELETE", path, { token: employer });
    expect(detached.status).toBe(200);
    expect(detached.body.employerIncentive).toMatchObject({ employerIncentiveId: link, employerId, programId: "1", incentiveId });
    expect(detached.body.employerIncentive.detachedAt).toMatch(/Z$/);
    // Detaching again answers the same link, first detachedAt kept.
    expect((await callJson("DELETE", path, { token: employer })).body).toEqual(detached.body);

    expectAllAcked(await deliver("incentive-events", [eventMessage(`e-${late}`, late, employerId, event, when)]), 1);
    expect(await awardsOf(late)).toEqual([]);
    expect(await awardsOf(early)).toHaveLength(1);
    expect((await callJson("DELETE", `/employers/${employerId}/programs/2/incentives/${link}`, { token: employer })).status).toBe(404);
    expect((await callJson("DELETE", path, { token: await tokenFor("5", ["employer"], { employerId: "1" }) })).status).toBe(403);
  });
});

describe("award lists", () => {
  it("page with limit and cursor, newest first, each award once, nextCursor null on the last page", async () => {
    const employerId = uniqueId();
    const event = `birth-${employerId}`;
    const incentiveId = await createIncentive({ kind: "once", event });
    await attach(employerId, "1", incentiveId, "Blanket");
    const users = Array.from({ length: 7 }, () => uniqueId());
    const when = new Date(Date.now() - 3_600_000).toISOString();
    for (const user of users) expectAllAcked(await deliver("incentive-events", [eventMessage(`e-${user}`, user, employerId, event, when)]), 1);
    const token = await adminToken();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "limit=3" : `limit=3&cursor=${encodeURIComponent(cursor)}`;
      const page = await callJson("GET", `/employers/${employerId}/awards?${query}`, { token });
      expect(page.status).toBe(200);
      seen.push(...page.body.awards.map((a: { userId: string }) => a.userId));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual([...users].sort());
    const all = await callJson("GET", `/employers/${employerId}/awards`, { token });
    expect(all.body.awards.map((a: { userId: string }) => a.userId)).toEqual(seen);
    expect(all.body.nextCursor).toBeNull();
    expect((await callJson("GET", `/employers/${employerId}/awards?cursor=nope`, { token })).status).toBe(400);
  });
});

describe("event age", () => {
  it("refuses an event older than 400 days with 422 and accepts one 399 days old", async () => {
    const token = await serviceToken();
    const event = (timestamp: string) => ({ userId: "5", employerId: "6", event: "data-logged", timestamp });
    const old = await callJson("POST", "/incentives/events", { token, body: event(new Date(utcDaysAhead(-401)).toISOString()) });
    expect(old.status).toBe(422);
    expect(old.body.errors[0].path).toBe("timestamp");
    expect((await callJson("POST", "/incentives/events", { token, body: event(new Date(utcDaysAhead(-399)).toISOString()) })).status).toBe(202);
  });
});
