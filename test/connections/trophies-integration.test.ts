import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userStub } from "../../durable-objects/user/stub.ts";
import type { EstablishedConnectionMessage } from "../../shared/messages.ts";
import { expectAllAcked } from "../incentives/helpers.ts";
import { deliver } from "../support/queues.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { connectCitizen, connectOfficer, uniqueZip } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const QUEUE = "established-connections";
const HOUR = 3_600_000;

/** The nth connection between a citizen and an officer, as ZipArea publishes it; n-th hour of the last few days. */
function connection(n: number, citizenId: string, officerId: string, zip: string, base: number): EstablishedConnectionMessage {
  return {
    kind: "established-connection",
    requestId: `trophy-${citizenId}-${n}`,
    citizenId,
    officerId,
    zip,
    pointsEach: 10,
    establishedAt: base + n * HOUR,
  };
}

/** A public profile shows when a trophy was earned to the UTC day only. */
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function profileOf(userId: string) {
  const { status, body } = await callJson("GET", `/users/${userId}/profile`);
  expect(status).toBe(200);
  return body.profile as { userId: string; displayName: string | null; connections: number; trophies: Array<{ trophyId: string; name: string; earnedAt: string }> };
}

describe("Trophies", () => {
  it("awards first, ten and fifty connections once each under redelivered batches, to both parties", async () => {
    const [citizenId, officerId, zip] = [uniqueId(), uniqueId(), uniqueZip()];
    const base = Date.now() - 60 * HOUR;
    const all = Array.from({ length: 50 }, (_, i) => connection(i + 1, citizenId, officerId, zip, base));
    const upTo = (n: number) => all.slice(0, n);

    expectAllAcked(await deliver(QUEUE, upTo(1)), 1);
    expectAllAcked(await deliver(QUEUE, upTo(1), { attempts: 2 }), 1);
    let profile = await profileOf(citizenId);
    expect(profile.connections).toBe(1);
    expect(profile.trophies).toEqual([{ trophyId: "first-connection", name: "First connection", earnedAt: dayOf(base + HOUR) }]);

    // Redelivered messages mixed with new ones: 1..9 again with 10..12, then 5..49, then everything twice.
    expectAllAcked(await deliver(QUEUE, all.slice(0, 12), { attempts: 2 }), 12);
    profile = await profileOf(citizenId);
    expect(profile.connections).toBe(12);
    expect(profile.trophies.map((t) => t.trophyId)).toEqual(["first-connection", "ten-connections"]);
    expect(profile.trophies[1]!.earnedAt).toBe(dayOf(base + 10 * HOUR));

    expectAllAcked(await deliver(QUEUE, all.slice(4, 49), { attempts: 3 }), 45);
    expect((await profileOf(citizenId)).trophies).toHaveLength(2);
    expectAllAcked(await deliver(QUEUE, [...all, ...all], { attempts: 4 }), 100);

    for (const userId of [citizenId, officerId]) {
      const { connections, trophies } = await profileOf(userId);
      expect(connections).toBe(50);
      expect(trophies.map((t) => [t.trophyId, t.earnedAt])).toEqual([
        ["first-connection", dayOf(base + HOUR)],
        ["ten-connections", dayOf(base + 10 * HOUR)],
        ["fifty-connections", dayOf(base + 50 * HOUR)],
      ]);
    }
    // Reports count each connection once too.
    const { body } = await callJson("GET", "/reports/connections?groupBy=zip", { token: await adminToken() });
    expect(body.rows).toContainEqual({ zip, connections: 50 });
  });

  it("pushes a new trophy to the citizen's nearby socket and the officer's presence socket", async () => {
    const [citizenId, officerId, zip] = [uniqueId(), uniqueId(), uniqueZip()];
    const citizen = await connectCitizen(zip, citizenId);
    const officer = await connectOfficer(zip, officerId);
    expectAllAcked(await deliver(QUEUE, [connection(1, citizenId, officerId, zip, Date.now() - HOUR)]), 1);
    const expected = { type: "trophy", trophyId: "first-connection", name: "First connection", earnedAt: expect.any(String) };
    const pushed = await citizen.next("trophy");
    expect(pushed).toEqual(expected);
    expect(await officer.next("trophy")).toEqual(expected);
    // The owner's own socket keeps the full time; the public profile shows the day.
    expect(pushed.earnedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await profileOf(citizenId)).trophies[0]!.earnedAt).toBe(pushed.earnedAt.slice(0, 10));
    // A redelivery earns nothing new, so nothing more is pushed.
    expectAllAcked(await deliver(QUEUE, [connection(1, citizenId, officerId, zip, Date.now() - HOUR)], { attempts: 2 }), 1);
    await expect(citizen.next("trophy", 300)).rejects.toThrow();
    citizen.close();
    officer.close();
  });

  it("awards first-donation on the first donation and generous at 500 points donated, once each", async () => {
    const userId = uniqueId();
    const token = await tokenFor(userId, ["citizen"]);
    expect((await userStub(env, userId).credit({ ref: `funding-${userId}`, reason: "test", points: 1000 })).ok).toBe(true);
    const { body: created } = await callJson("POST", "/charities", { token: await adminToken(), body: { name: `Trophy charity ${userId}` } });
    const charityId = created.charity.charityId as string;
    const donate = async (points: number, donationId: string) => {
      const { status } = await callJson("POST", "/donations", { token, body: { charityId, points, donationId } });
      expect(status).toBe(201);
    };

    await donate(100, `d-${userId}-1`);
    await donate(100, `d-${userId}-1`);
    let { trophies } = await profileOf(userId);
    expect(trophies.map((t) => t.trophyId)).toEqual(["first-donation"]);
    await donate(300, `d-${userId}-2`);
    expect((await profileOf(userId)).trophies.map((t) => t.trophyId)).toEqual(["first-donation"]);
    await donate(100, `d-${userId}-3`);
    await donate(100, `d-${userId}-4`);
    ({ trophies } = await profileOf(userId));
    expect(trophies.map((t) => t.trophyId)).toEqual(["first-donation", "generous"]);
    expect(trophies[1]!.name).toBe("Generous");
  });
});

describe("Public profiles", () => {
  it("shows a user's name, connections and trophies, and nothing else", async () => {
    const [citizenId, officerId, zip] = [uniqueId(), uniqueId(), uniqueZip()];
    const named = await callJson("PUT", `/users/${citizenId}/profile`, { token: await tokenFor(citizenId, ["citizen"]), body: { displayName: "Casey" } });
    expect(named.status).toBe(200);
    expectAllAcked(await deliver(QUEUE, [connection(1, citizenId, officerId, zip, Date.now() - HOUR)]), 1);
    const { status, body } = await callJson("GET", `/users/${citizenId}/profile`);
    expect(status).toBe(200);
    expect(body).toEqual({
      profile: {
        userId: citizenId,
        displayName: "Casey",
        connections: 1,
        trophies: [{ trophyId: "first-connection", name: "First connection", earnedAt: expect.any(String) }],
      },
    });
  });

  it("shows an officer's name, precinct, connections and trophies", async () => {
    const [citizenId, officerId, zip] = [uniqueId(), uniqueId(), uniqueZip()];
    // As the officers import stores them.
    await env.DB.prepare("INSERT INTO user_profiles (user_id, display_name, precinct, updated_at) VALUES (?, ?, ?, ?)")
      .bind(Number(officerId), "Officer Brooks", "Precinct 14", Date.now())
      .run();
    expectAllAcked(await deliver(QUEUE, [connection(1, citizenId, officerId, zip, Date.now() - HOUR)]), 1);
    const { status, body } = await callJson("GET", `/officers/${officerId}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      officer: {
        officerId,
        displayName: "Officer Brooks",
        precinct: "Precinct 14",
        connections: 1,
        trophies: [{ trophyId: "first-connection", name: "First connection", earnedAt: expect.any(String) }],
      },
    });
  });

  it("answers an unused id like a new user, and 400 for an id that is not one", async () => {
    const unknown = uniqueId();
    expect((await callJson("GET", `/users/${unknown}/profile`)).body).toEqual({
      profile: { userId: unknown, displayName: null, connections: 0, trophies: [] },
    });
    expect((await callJson("GET", `/officers/${unknown}`)).body).toEqual({
      officer: { officerId: unknown, displayName: null, precinct: null, connections: 0, trophies: [] },
    });
    const bad = await callJson("GET", "/users/abc/profile");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("path.userId");
    expect((await callJson("GET", "/officers/abc")).status).toBe(400);
  });
});
