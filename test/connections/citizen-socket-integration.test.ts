import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CITIZEN_MESSAGES_PER_SECOND, CLOSE_CITIZEN_REPLACED } from "../../durable-objects/zip-area/citizen-feed.ts";
import type { NearbyOfficer } from "../../durable-objects/zip-area/socket-messages.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { callJson, tokenFor } from "../support/http.ts";
import {
  coarseAt,
  connectCitizen,
  connectOfficer,
  north,
  pointsOf,
  requestConnection,
  shownFrom,
  uniqueZip,
  type CitizenSocket,
} from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

async function nameOfficer(officerId: string, displayName: string) {
  const { status } = await callJson("PUT", `/users/${officerId}/profile`, {
    token: await tokenFor(officerId, ["officer"]),
    body: { displayName },
  });
  expect(status).toBe(200);
}

/** The next officers list that satisfies `check` (lists before it are skipped). */
async function listWhere(citizen: CitizenSocket, check: (officers: NearbyOfficer[]) => boolean): Promise<NearbyOfficer[]> {
  for (;;) {
    const { officers } = await citizen.next("officers");
    if (check(officers)) return officers;
  }
}

const ids = (officers: NearbyOfficer[]) => officers.map((officer) => officer.officerId);

describe("Citizen nearby socket", () => {
  it("refuses a socket without a token, to an officer, without an upgrade, or for a bad zip", async () => {
    const open = (path: string, headers: Record<string, string> = { Upgrade: "websocket" }) =>
      exports.default.fetch(new Request(`https://tally.test${path}`, { headers }));
    expect((await open("/nearby/10001")).status).toBe(401);
    const officer = await tokenFor("6", ["officer"]);
    expect((await open(`/nearby/10001?token=${officer}`)).status).toBe(403);
    const citizen = await tokenFor("5", ["citizen"]);
    const plain = await open(`/nearby/10001?token=${citizen}`, {});
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe("header.upgrade");
    expect((await open(`/nearby/${encodeURIComponent("no zip!")}?token=${citizen}`)).status).toBe(400);
  });

  it("sees officers arrive, move, come within 200 m (announced once), accept another citizen and leave", async () => {
    const zip = uniqueZip();
    const [a, b] = [uniqueId(), uniqueId()];
    await nameOfficer(a, "Officer Alvarez");
    const citizen = await connectCitizen(zip, uniqueId());
    expect((await citizen.locate(HERE)).officers).toEqual([]);

    // Citizens see officers at the centres of their 200 m cells (this window's grid), never closer.
    const officerA = await connectOfficer(zip, a);
    const aFar = north(HERE, 700);
    await officerA.locate(aFar.lat, aFar.lng);
    const farShown = shownFrom(HERE, await coarseAt(zip, a, aFar));
    expect(await listWhere(citizen, (list) => list.length === 1)).toEqual([
      { officerId: a, displayName: "Officer Alvarez", distanceMeters: farShown },
    ]);

    // Standing at the citizen's spot, A's cell centre is at most ~141 m away: within 200 m.
    await officerA.locate(HERE.lat, HERE.lng);
    const nearShown = shownFrom(HERE, await coarseAt(zip, a, HERE));
    expect(nearShown).toBeLessThanOrEqual(150);
    expect(await listWhere(citizen, (list) => list[0]?.distanceMeters === nearShown)).toEqual([
      { officerId: a, displayName: "Officer Alvarez", distanceMeters: nearShown },
    ]);
    expect(await citizen.next("officer-nearby")).toEqual({ type: "officer-nearby", officerId: a, displayName: "Officer Alvarez", distanceMeters: nearShown });
    // Away and back: the list follows, the alert is not repeated.
    await officerA.locate(aFar.lat, aFar.lng);
    await listWhere(citizen, (list) => list[0]?.distanceMeters === farShown);
    await officerA.locate(HERE.lat, HERE.lng);
    await listWhere(citizen, (list) => list[0]?.distanceMeters === nearShown);

    const officerB = await connectOfficer(zip, b);
    const bAt = north(HERE, 600);
    await officerB.locate(bAt.lat, bAt.lng);
    const bShown = shownFrom(HERE, await coarseAt(zip, b, bAt));
    const both = await listWhere(citizen, (list) => list.length === 2);
    expect(both).toEqual([
      { officerId: a, displayName: "Officer Alvarez", distanceMeters: nearShown },
      { officerId: b, displayName: null, distanceMeters: bShown },
    ]);

    // Officer B accepts someone else: B is busy, so out of this citizen's list (and nearby answers).
    const other = uniqueId();
    const requestId = await requestConnection(other, { officerId: b, zip, ...north(bAt, 20) });
    await officerB.next("connection-request");
    officerB.send({ type: "accept", requestId });
    await officerB.next("connected");
    expect(ids(await listWhere(citizen, (list) => list.length === 1))).toEqual([a]);
    const { body } = await callJson("GET", `/officers/nearby?zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`, {
      token: await tokenFor(other, ["citizen"]),
    });
    expect(ids(body.officers)).toEqual([a]);

    officerA.close();
    expect(await listWhere(citizen, (list) => list.length === 0)).toEqual([]);
    // A came within 200 m once; it was announced once.
    expect(citizen.queued("officer-nearby")).toEqual([]);
    officerB.close();
    citizen.close();
  });

  it("tells the citizen when their request is accepted, declined or expires, and checks 200 m from the socket's location", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const citizenId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    const citizen = await connectCitizen(zip, citizenId);
    await citizen.locate(north(HERE, 40));

    const declined = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 40) });
    await officer.next("connection-request");
    officer.send({ type: "decline", requestId: declined });
    expect(await citizen.next("connection")).toEqual({ type: "connection", requestId: declined, officerId, status: "declined" });

    const expiring = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 40) });
    await officer.next("connection-request");
    await runInDurableObject(zipAreaStub(env, zip), (_instance, state) => {
      state.storage.sql.exec("UPDATE requests SET expires_at = ? WHERE request_id = ?", Date.now() - 1, expiring);
    });
    officer.send({ type: "accept", requestId: expiring });
    expect(await officer.next("error")).toMatchObject({ code: "expired" });
    expect(await citizen.next("connection")).toEqual({ type: "connection", requestId: expiring, officerId, status: "expired" });

    // The request says 40 m, but the citizen's socket then reports 350 m: the newer location counts.
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 40) });
    expect((await officer.next("connection-request")).distanceMeters).toBe(40);
    await citizen.locate(north(HERE, 350));
    officer.send({ type: "accept", requestId });
    expect(await officer.next("error")).toMatchObject({ code: "too_far", distanceMeters: 350 });
    await citizen.locate(north(HERE, 60));
    officer.send({ type: "accept", requestId });
    expect(await officer.next("connected")).toMatchObject({ requestId, points: 10 });
    expect(await citizen.next("connection")).toEqual({ type: "connection", requestId, officerId, status: "accepted", points: 10, pointsCapped: false });
    expect(await pointsOf(citizenId)).toBe(10);
    officer.close();
    citizen.close();
  });

  it(`never sends more than ${CITIZEN_MESSAGES_PER_SECOND} messages a second under a burst of 100 officer moves, and ends on the latest list`, async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(north(HERE, 300).lat, HERE.lng);
    const citizen = await connectCitizen(zip, uniqueId());
    await citizen.locate(HERE, 5000);
    // 45 m steps: the officer's 200 m cell changes every four or five, so some 20 different lists are offered.
    for (let i = 1; i <= 100; i++) officer.send({ type: "location", lat: north(HERE, 300 + i * 45).lat, lng: HERE.lng });
    const last = shownFrom(HERE, await coarseAt(zip, officerId, north(HERE, 4800)));
    await listWhere(citizen, (list) => list[0]?.distanceMeters === last);
    // A round-trip marker instead of a wait: the answer to a later location is queued behind anything
    // still paced, so once it arrives nothing older can; every list since must be the latest.
    citizen.send({ type: "location", ...HERE, radius: 4999 });
    const marker = await citizen.next("officers");
    expect(marker.officers[0]?.distanceMeters).toBe(last);
    expect(citizen.queued("officers")).toEqual([]);

    const times = citizen.arrivals;
    // Paced and coalesced: more than one second's worth arrived, far fewer than the 100 moves.
    expect(times.length).toBeGreaterThan(CITIZEN_MESSAGES_PER_SECOND);
    expect(times.length).toBeLessThan(20);
    for (let i = CITIZEN_MESSAGES_PER_SECOND; i < times.length; i++) {
      expect(times[i]! - times[i - CITIZEN_MESSAGES_PER_SECOND]!, `messages ${i - CITIZEN_MESSAGES_PER_SECOND}..${i}`).toBeGreaterThanOrEqual(1_000);
    }
    officer.close();
    citizen.close();
  });

  it("answers bad messages with an error, locations over the per-minute limit with rate_limited, and keeps the socket", async () => {
    const citizen = await connectCitizen(uniqueZip(), uniqueId());
    citizen.send("not json");
    expect((await citizen.next("error")).code).toBe("invalid_message");
    citizen.send({ type: "location", lat: 40, lng: -74, radius: 10_001 });
    const wide = await citizen.next("error");
    expect(wide.code).toBe("invalid_message");
    expect(wide.detail).toContain("radius");
    // 60 a minute (RATE_NEARBY_PER_MINUTE): the rest of these are refused.
    for (let i = 0; i < 70; i++) citizen.send({ type: "location", ...HERE });
    expect(await citizen.next("error")).toMatchObject({ code: "rate_limited" });
    citizen.close();
  });

  it("keeps the citizen's identity and location across hibernation, and replaces an older socket", async () => {
    const zip = uniqueZip();
    const citizenId = uniqueId();
    const citizen = await connectCitizen(zip, citizenId);
    await citizen.locate(HERE);
    await evictDurableObject(zipAreaStub(env, zip));

    const officerId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    // The officer's cell centre is at most ~141 m from them: within 200 m of the citizen.
    const shown = shownFrom(HERE, await coarseAt(zip, officerId, HERE));
    expect(await listWhere(citizen, (list) => list.length === 1)).toEqual([{ officerId, displayName: null, distanceMeters: shown }]);
    expect(await citizen.next("officer-nearby")).toMatchObject({ officerId });

    const again = await connectCitizen(zip, citizenId);
    expect((await citizen.closed).code).toBe(CLOSE_CITIZEN_REPLACED);
    // A new socket is a new episode: the officer within 200 m is announced again.
    expect(ids((await again.locate(HERE)).officers)).toEqual([officerId]);
    expect(await again.next("officer-nearby")).toMatchObject({ officerId, distanceMeters: shown });
    officer.close();
    again.close();
  });
});

describe("Distances shown to clients", () => {
  it("are rounded to 10 m in nearby answers and connection requests", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    const citizenId = uniqueId();
    const at = north(HERE, 123.4);
    const { body } = await callJson("GET", `/officers/nearby?zip=${zip}&lat=${at.lat}&lng=${at.lng}`, {
      token: await tokenFor(citizenId, ["citizen"]),
    });
    // To the officer's cell centre, rounded to 10 m.
    const shown = shownFrom(at, await coarseAt(zip, officerId, HERE));
    expect(shown % 10).toBe(0);
    expect(body.officers).toEqual([{ officerId, displayName: null, zip, distanceMeters: shown }]);
    // The officer sees the citizen's distance from their own exact position, rounded.
    await requestConnection(citizenId, { officerId, zip, ...north(HERE, 126) });
    expect((await officer.next("connection-request")).distanceMeters).toBe(130);
    officer.close();
  });
});
