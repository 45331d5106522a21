import { describe, expect, it } from "vitest";
import { adminToken, call, callJson, serviceToken, tokenFor } from "../support/http.ts";
import { attach, createIncentive } from "./helpers.ts";

const employerToken = (employerId: string) => tokenFor(`9${employerId}`, ["employer"], { employerId });
/** The distinct fields a problem names (one field may carry several messages). */
const paths = (errors: Array<{ path: string }>) => [...new Set(errors.map((e) => e.path))];

async function catalogueSize(): Promise<number> {
  const { body } = await callJson("GET", "/incentives");
  return body.incentives.length;
}

describe("POST /incentives", () => {
  it("adds a streak incentive for an admin", async () => {
    const { status, body } = await callJson("POST", "/incentives", {
      token: await adminToken(),
      body: { name: "Five days", description: "Log data five days in a row", rule: { kind: "streak", event: "data-logged", days: 5 } },
    });
    expect(status).toBe(201);
    expect(body).toEqual({
      incentive: {
        incentiveId: expect.stringMatching(/^\d+$/),
        name: "Five days",
        description: "Log data five days in a row",
        rule: { kind: "streak", event: "data-logged", days: 5 },
        active: true,
      },
    });
  });

  it("returns the first answer for a client-chosen id sent again, and 409 for different content", async () => {
    const token = await adminToken();
    const incentive = { incentiveId: 5000, name: "Birth", rule: { kind: "once", event: "birth-reported" } };
    const first = await callJson("POST", "/incentives", { token, body: incentive });
    expect(first.status).toBe(201);
    expect(first.body.incentive).toMatchObject({ incentiveId: "5000", description: "", active: true });
    const again = await callJson("POST", "/incentives", { token, body: { ...incentive, incentiveId: "5000" } });
    expect(again).toMatchObject({ status: 201, body: first.body });
    const changed = await callJson("POST", "/incentives", { token, body: { ...incentive, name: "Another" } });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe("idempotency_conflict");
  });

  it("refuses callers who are not admins", async () => {
    const body = { name: "x", rule: { kind: "once", event: "e" } };
    expect((await call("POST", "/incentives", { body })).status).toBe(401);
    expect((await call("POST", "/incentives", { body, token: await employerToken("1") })).status).toBe(403);
    expect((await call("POST", "/incentives", { body, token: await tokenFor("9", ["citizen"]) })).status).toBe(403);
  });

  it("names each bad field and changes nothing", async () => {
    const before = await catalogueSize();
    const token = await adminToken();
    const cases: Array<[unknown, string[]]> = [
      [{ rule: { kind: "once", event: "e" } }, ["name"]],
      [{ name: "x", rule: { kind: "streak", event: "data-logged" } }, ["rule.days"]],
      [{ name: "x", rule: { kind: "streak", event: "data-logged", days: 0 } }, ["rule.days"]],
      [{ name: "x", rule: { kind: "streak", event: "data-logged", days: 2.5 } }, ["rule.days"]],
      [{ name: "x", rule: { kind: "forever", event: "e" } }, ["rule.kind"]],
      [{ name: "x", rule: { kind: "once", event: "has space" } }, ["rule.event"]],
      [{ name: "x", rule: { kind: "once", event: "e" }, active: "yes" }, ["active"]],
      [{ name: "x", rule: { kind: "once", event: "e" }, incentiveId: "-1" }, ["incentiveId"]],
    ];
    for (const [body, expected] of cases) {
      const response = await callJson("POST", "/incentives", { token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.response.headers.get("content-type")).toBe("application/problem+json");
      expect(paths(response.body.errors)).toEqual(expected);
    }
    expect(await catalogueSize()).toBe(before);
  });
});

describe("GET /incentives", () => {
  it("lists the catalogue to anyone, filtered by activity and event", async () => {
    const token = await adminToken();
    await callJson("POST", "/incentives", { token, body: { name: "Retired", rule: { kind: "once", event: "retired-event" }, active: false } });
    const all = await callJson("GET", "/incentives");
    expect(all.status).toBe(200);
    expect(all.body.incentives.some((i: { name: string }) => i.name === "Retired")).toBe(true);
    const active = await callJson("GET", "/incentives?active=true");
    expect(active.body.incentives.every((i: { active: boolean }) => i.active)).toBe(true);
    const byEvent = await callJson("GET", "/incentives?event=retired-event");
    expect(byEvent.body.incentives.map((i: { name: string }) => i.name)).toEqual(["Retired"]);
    expect((await callJson("GET", "/incentives?active=maybe")).status).toBe(400);
  });
});

describe("PATCH /incentives/{incentiveId}", () => {
  it("retires and reinstates an incentive for an admin", async () => {
    const incentiveId = await createIncentive({ kind: "once", event: "flu-shot" });
    const token = await adminToken();
    const retired = await callJson("PATCH", `/incentives/${incentiveId}`, { token, body: { active: false } });
    expect(retired).toMatchObject({ status: 200, body: { incentive: { incentiveId, active: false, rule: { kind: "once", event: "flu-shot" } } } });
    const byEvent = await callJson("GET", "/incentives?event=flu-shot&active=false");
    expect(byEvent.body.incentives.map((i: { incentiveId: string }) => i.incentiveId)).toEqual([incentiveId]);
    const back = await callJson("PATCH", `/incentives/${incentiveId}`, { token, body: { active: true } });
    expect(back.body.incentive.active).toBe(true);
  });

  it("answers 404 for an unknown incentive, 400 for a bad body, 401/403 for non-admins", async () => {
    const token = await adminToken();
    expect((await call("PATCH", "/incentives/987654", { token, body: { active: false } })).status).toBe(404);
    const bad = await callJson("PATCH", "/incentives/1", { token, body: { active: "no" } });
    expect(bad.status).toBe(400);
    expect(paths(bad.body.errors)).toEqual(["active"]);
    expect((await call("PATCH", "/incentives/1", { body: { active: false } })).status).toBe(401);
    expect((await call("PATCH", "/incentives/1", { body: { active: false }, token: await employerToken("1") })).status).toBe(403);
  });
});

describe("POST /employers/{employerId}/programs/{programId}/incentives", () => {
  it("attaches an incentive with its reward for that employer or an admin", async () => {
    const incentiveId = await createIncentive({ kind: "streak", event: "mood-logged", days: 3 });
    const { status, body } = await callJson("POST", "/employers/7/programs/70/incentives", {
      token: await employerToken("7"),
      body: { incentiveId: Number(incentiveId), reward: { description: "Yoga mat" } },
    });
    expect(status).toBe(201);
    expect(body).toEqual({
      employerIncentive: {
        employerIncentiveId: expect.stringMatching(/^\d+$/),
        employerId: "7",
        programId: "70",
        incentiveId,
        reward: { description: "Yoga mat" },
        shareWithWebhooks: false,
      },
    });
    const byAdmin = await callJson("POST", "/employers/7/programs/71/incentives", {
      token: await adminToken(),
      body: { incentiveId, reward: { description: "Yoga mat" } },
    });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.employerIncentive.employerIncentiveId).not.toBe(body.employerIncentive.employerIncentiveId);
  });

  it("returns the same link when attached again, 409 when the reward differs", async () => {
    const incentiveId = await createIncentive({ kind: "once", event: "checkup-done" });
    const token = await employerToken("8");
    const link = { incentiveId, reward: { description: "Cinema ticket" } };
    const first = await callJson("POST", "/employers/8/programs/1/incentives", { token, body: link });
    const again = await callJson("POST", "/employers/8/programs/1/incentives", { token, body: link });
    expect(again).toMatchObject({ status: 201, body: first.body });
    const changed = await callJson("POST", "/employers/8/programs/1/incentives", {
      token,
      body: { ...link, reward: { description: "Concert ticket" } },
    });
    expect(changed.status).toBe(409);
  });

  it("refuses another employer, a citizen and a missing token", async () => {
    const body = { incentiveId: "1", reward: { description: "x" } };
    expect((await call("POST", "/employers/7/programs/1/incentives", { body })).status).toBe(401);
    expect((await call("POST", "/employers/7/programs/1/incentives", { body, token: await employerToken("8") })).status).toBe(403);
    expect((await call("POST", "/employers/7/programs/1/incentives", { body, token: await tokenFor("7", ["citizen"]) })).status).toBe(403);
    // An employer token without the employerId claim is no employer at all.
    expect((await call("POST", "/employers/7/programs/1/incentives", { body, token: await tokenFor("7", ["employer"]) })).status).toBe(403);
  });

  it("answers 422 for an unknown or inactive incentive and 400 for bad fields", async () => {
    const token = await employerToken("9");
    const unknown = await callJson("POST", "/employers/9/programs/1/incentives", {
      token,
      body: { incentiveId: "987654", reward: { description: "x" } },
    });
    expect(unknown.status).toBe(422);
    expect(paths(unknown.body.errors)).toEqual(["incentiveId"]);
    const admin = await adminToken();
    const inactive = await callJson("POST", "/incentives", { token: admin, body: { name: "Off", rule: { kind: "once", event: "off" }, active: false } });
    const refused = await callJson("POST", "/employers/9/programs/1/incentives", {
      token,
      body: { incentiveId: inactive.body.incentive.incentiveId, reward: { description: "x" } },
    });
    expect(refused.status).toBe(422);
    const missingReward = await callJson("POST", "/employers/9/programs/1/incentives", { token, body: { incentiveId: "1" } });
    expect(missingReward.status).toBe(400);
    expect(paths(missingReward.body.errors)).toEqual(["reward"]);
    const blankReward = await callJson("POST", "/employers/9/programs/1/incentives", { token, body: { incentiveId: "1", reward: { description: "  " } } });
    expect(paths(blankReward.body.errors)).toEqual(["reward.description"]);
    const badProgram = await callJson("POST", "/employers/9/programs/abc/incentives", { token, body: { incentiveId: "1", reward: { description: "x" } } });
    expect(badProgram.status).toBe(400);
    expect(paths(badProgram.body.errors)).toEqual(["path.programId"]);
    const listed = await callJson("GET", "/employers/9/incentives", { token });
    expect(listed.body.employerIncentives).toEqual([]);
  });
});

describe("GET /employers/{employerId}/incentives", () => {
  it("lists the employer's links with their incentive, by program", async () => {
    const employer = "11";
    const streak = await createIncentive({ kind: "streak", event: "sleep-logged", days: 7 });
    const once = await createIncentive({ kind: "once", event: "vaccine-reported" });
    const second = await attach(employer, "2", once, "Day off");
    const first = await attach(employer, "1", streak, "Pillow");
    const { status, body } = await callJson("GET", `/employers/${employer}/incentives`, { token: await employerToken(employer) });
    expect(status).toBe(200);
    expect(body.employerId).toBe(employer);
    expect(body.employerIncentives.map((e: { employerIncentiveId: string }) => e.employerIncentiveId)).toEqual([first, second]);
    expect(body.employerIncentives[0]).toMatchObject({
      programId: "1",
      reward: { description: "Pillow" },
      incentive: { incentiveId: streak, rule: { kind: "streak", event: "sleep-logged", days: 7 } },
    });
    const program2 = await callJson("GET", `/employers/${employer}/incentives?programId=2`, { token: await adminToken() });
    expect(program2.body.employerIncentives.map((e: { employerIncentiveId: string }) => e.employerIncentiveId)).toEqual([second]);
  });

  it("is only for that employer or an admin", async () => {
    expect((await call("GET", "/employers/11/incentives")).status).toBe(401);
    expect((await call("GET", "/employers/11/incentives", { token: await employerToken("12") })).status).toBe(403);
    expect((await call("GET", "/employers/011/incentives", { token: await employerToken("11") })).status).toBe(200);
  });
});

describe("POST /incentives/events", () => {
  // Ten days ago: inside the 400 days accepted whatever today is.
  const eventDay = new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10);
  const event = { userId: "42", employerId: 7, event: "data-logged", timestamp: `${eventDay}T08:00:00Z` };

  it("accepts an event with 202 and assigns an id when missing", async () => {
    const { status, body } = await callJson("POST", "/incentives/events", { token: await serviceToken(), body: event });
    expect(status).toBe(202);
    expect(body.eventId).toMatch(/^[0-9a-f-]{36}$/);
    const other = await callJson("POST", "/incentives/events", { token: await serviceToken(), body: event });
    expect(other.body.eventId).not.toBe(body.eventId);
  });

  it("answers a resent id with the first answer and a changed payload with 409", async () => {
    const withId = { ...event, eventId: "evt-resend-1", utcOffsetMinutes: 0 };
    expect(await callJson("POST", "/incentives/events", { token: await serviceToken(), body: withId })).toMatchObject({ status: 202, body: { eventId: "evt-resend-1" } });
    // The same event written differently (number ids, default offset) is the same payload.
    const same = { ...withId, userId: 42, utcOffsetMinutes: undefined };
    expect(await callJson("POST", "/incentives/events", { token: await serviceToken(), body: same })).toMatchObject({ status: 202, body: { eventId: "evt-resend-1" } });
    const changed = await callJson("POST", "/incentives/events", { token: await serviceToken(), body: { ...withId, event: "birth-reported" } });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe("idempotency_conflict");
  });

  it("names each bad field with 400", async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ ...event, userId: undefined }, ["userId"]],
      [{ ...event, userId: "abc" }, ["userId"]],
      [{ ...event, employerId: -1 }, ["employerId"]],
      [{ ...event, event: "" }, ["event"]],
      [{ ...event, timestamp: `${eventDay}T08:00:00` }, ["timestamp"]],
      [{ ...event, timestamp: Date.parse(event.timestamp) }, ["timestamp"]],
      [{ ...event, utcOffsetMinutes: 900 }, ["utcOffsetMinutes"]],
      [{ ...event, utcOffsetMinutes: 30.5 }, ["utcOffsetMinutes"]],
      [{ ...event, eventId: "has space" }, ["eventId"]],
    ];
    for (const [body, expected] of cases) {
      const response = await callJson("POST", "/incentives/events", { token: await serviceToken(), body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(paths(response.body.errors)).toEqual(expected);
    }
  });

  it("refuses an event dated more than a day ahead with 422", async () => {
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const { status, body } = await callJson("POST", "/incentives/events", { token: await serviceToken(), body: { ...event, eventId: "evt-future", timestamp: future } });
    expect(status).toBe(422);
    expect(paths(body.errors)).toEqual(["timestamp"]);
    // Refused means not remembered: the id is still free.
    const now = new Date().toISOString();
    expect((await callJson("POST", "/incentives/events", { token: await serviceToken(), body: { ...event, eventId: "evt-future", timestamp: now } })).status).toBe(202);
  });

  it("accepts the extreme offsets", async () => {
    for (const utcOffsetMinutes of [-720, 840]) {
      expect((await call("POST", "/incentives/events", { token: await serviceToken(), body: { ...event, utcOffsetMinutes } })).status).toBe(202);
    }
  });
});

describe("GET /users/{userId}/streaks and /awards", () => {
  for (const what of ["streaks", "awards"]) {
    it(`lets only the user or an admin read ${what}`, async () => {
      expect((await call("GET", `/users/77/${what}`)).status).toBe(401);
      expect((await call("GET", `/users/77/${what}`, { token: await tokenFor("78", ["citizen"]) })).status).toBe(403);
      expect((await call("GET", `/users/77/${what}`, { token: await employerToken("77") })).status).toBe(403);
      expect((await call("GET", `/users/77/${what}`, { token: await tokenFor("77") })).status).toBe(200);
      expect((await call("GET", `/users/77/${what}`, { token: await adminToken() })).status).toBe(200);
    });
  }

  it("answers empty lists for a user with no activity", async () => {
    const token = await tokenFor("79");
    expect(await callJson("GET", "/users/79/streaks", { token })).toMatchObject({ status: 200, body: { userId: "79", streaks: [] } });
    expect(await callJson("GET", "/users/79/awards", { token })).toMatchObject({ status: 200, body: { awards: [] } });
  });

  it("refuses bad ids and limits with 400", async () => {
    const token = await adminToken();
    expect(paths((await callJson("GET", "/users/x1/streaks", { token })).body.errors)).toEqual(["path.userId"]);
    expect(paths((await callJson("GET", "/users/1/awards?limit=0", { token })).body.errors)).toEqual(["query.limit"]);
    expect(paths((await callJson("GET", "/users/1/streaks?event=a%20b", { token })).body.errors)).toEqual(["query.event"]);
  });
});

describe("GET /employers/{employerId}/awards", () => {
  it("is only for that employer or an admin", async () => {
    expect((await call("GET", "/employers/13/awards")).status).toBe(401);
    expect((await call("GET", "/employers/13/awards", { token: await employerToken("14") })).status).toBe(403);
    expect((await call("GET", "/employers/13/awards", { token: await tokenFor("13", ["citizen"]) })).status).toBe(403);
    expect(await callJson("GET", "/employers/13/awards", { token: await employerToken("13") })).toMatchObject({ status: 200, body: { awards: [] } });
    expect((await call("GET", "/employers/13/awards?limit=1001", { token: await adminToken() })).status).toBe(400);
  });
});

describe("OpenAPI", () => {
  it("documents every incentives endpoint", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    for (const path of [
      "/incentives",
      "/incentives/events",
      "/incentives/{incentiveId}",
      "/employers/{employerId}/programs/{programId}/incentives",
      "/employers/{employerId}/incentives",
      "/employers/{employerId}/awards",
      "/users/{userId}/streaks",
      "/users/{userId}/awards",
    ]) {
      expect(Object.keys(body.paths)).toContain(path);
    }
    expect(body.paths["/incentives"].post.security).toEqual([{ bearerAuth: [] }]);
  });
});
