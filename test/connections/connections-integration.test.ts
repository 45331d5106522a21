import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userStub } from "../../durable-objects/user/stub.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { connectCitizen, connectOfficer, north, pointsOf, requestConnection, uniqueZip } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

async function status(requestId: string, token: string) {
  return callJson("GET", `/connections/${requestId}`, { token });
}

/** An officer available at HERE in a fresh zip, and a citizen 50 m away. */
async function scene() {
  const zip = uniqueZip();
  const officerId = uniqueId();
  const citizenId = uniqueId();
  const officer = await connectOfficer(zip, officerId);
  await officer.locate(HERE.lat, HERE.lng);
  const citizenToken = await tokenFor(citizenId, ["citizen"]);
  const officerToken = await tokenFor(officerId, ["officer"]);
  return { zip, officerId, citizenId, officer, citizenToken, officerToken, near: north(HERE, 50) };
}

describe("Connection requests", () => {
  it("request → accept → both wallets gain the points once, and the connection is recorded", async () => {
    const { zip, officerId, citizenId, officer, citizenToken, officerToken, near } = await scene();
    const requestId = await requestConnection(citizenId, { officerId, zip, ...near });

    const notice = await officer.next("connection-request");
    expect(notice).toMatchObject({ requestId, citizenId });
    expect(notice.distanceMeters).toBeCloseTo(50, 0);
    expect((await status(requestId, citizenToken)).body.status).toBe("pending");

    officer.send({ type: "accept", requestId });
    expect(await officer.next("connected")).toEqual({ type: "connected", requestId, citizenId, points: 10, pointsCapped: false });
    // A resent accept answers the same and credits nothing more.
    officer.send({ type: "accept", requestId });
    expect(await officer.next("connected")).toMatchObject({ requestId, points: 10 });

    expect(await pointsOf(citizenId)).toBe(10);
    expect(await pointsOf(officerId)).toBe(10);
    const entries = (await userStub(env, citizenId).walletView()).entries;
    expect(entries.filter((entry) => entry.ref === `connection:${requestId}`)).toHaveLength(1);

    for (const token of [citizenToken, officerToken, await adminToken()]) {
      const { status: code, body } = await status(requestId, token);
      expect(code).toBe(200);
      expect(body).toEqual({ requestId, citizenId, officerId, zip, status: "accepted", createdAt: expect.any(String) });
    }
    expect((await status(requestId, await tokenFor(uniqueId(), ["citizen"]))).status).toBe(403);
    // A service token's sub names a backend, not a user, even when it spells a party's id.
    for (const party of [citizenId, officerId]) expect((await status(requestId, await tokenFor(party, ["service"]))).status).toBe(403);

    // Published on established-connections; its consumer records it for reports.
    const report = await eventually(async () => {
      const { body } = await callJson("GET", "/reports/connections?groupBy=zip", { token: await adminToken() });
      return body.rows.some((row: { zip: string }) => row.zip === zip) ? body : undefined;
    });
    expect(report.rows).toContainEqual({ zip, connections: 1 });
    officer.close();
  });

  it("refuses an accept from more than 200 m away, and accepts once the officer is close", async () => {
    const { zip, officerId, citizenId, officer, citizenToken } = await scene();
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 350) });
    await officer.next("connection-request");

    officer.send({ type: "accept", requestId });
    const refused = await officer.next("error");
    expect(refused).toMatchObject({ code: "too_far", requestId });
    expect(refused.distanceMeters).toBeCloseTo(350, 0);
    expect((await status(requestId, citizenToken)).body.status).toBe("pending");
    expect(await pointsOf(citizenId)).toBe(0);
    expect(await pointsOf(officerId)).toBe(0);

    const closer = north(HERE, 200);
    await officer.locate(closer.lat, closer.lng);
    officer.send({ type: "accept", requestId });
    expect(await officer.next("connected")).toMatchObject({ requestId });
    expect(await pointsOf(citizenId)).toBe(10);
    officer.close();
  });

  it("records a decline, after which the request cannot be accepted", async () => {
    const { zip, officerId, citizenId, officer, citizenToken } = await scene();
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 20) });
    await officer.next("connection-request");
    officer.send({ type: "decline", requestId });
    expect(await officer.next("declined")).toEqual({ type: "declined", requestId });
    expect((await status(requestId, citizenToken)).body.status).toBe("declined");
    officer.send({ type: "accept", requestId });
    expect(await officer.next("error")).toMatchObject({ code: "already_decided", requestId });
    expect(await pointsOf(citizenId)).toBe(0);
    officer.close();
  });

  it("expires a request after 60 s without an answer", async () => {
    const { zip, officerId, citizenId, officer, citizenToken } = await scene();
    const stub = env.ZIP_AREA.getByName(zip);
    const lazy = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 20) });
    const byAlarm = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 30) });
    const scheduled = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    const { createdAt } = (await status(lazy, citizenToken)).body;
    expect(scheduled).toBeGreaterThanOrEqual(Date.parse(createdAt) + 60_000);

    // Let the 60 s pass.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE requests SET expires_at = ?", Date.now() - 1);
    });
    expect((await status(lazy, citizenToken)).body.status).toBe("expired");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const stored = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec("SELECT status FROM requests WHERE request_id = ?", byAlarm).one().status,
    );
    expect(stored).toBe("expired");

    officer.send({ type: "accept", requestId: lazy });
    expect(await officer.next("error")).toMatchObject({ code: "expired", requestId: lazy });
    expect(await pointsOf(officerId)).toBe(0);
    officer.close();
  });

  it("gives a reconnecting officer the requests still waiting", async () => {
    const { zip, officerId, citizenId, officer } = await scene();
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 20) });
    await officer.next("connection-request");
    const again = await connectOfficer(zip, officerId);
    expect(await again.next("connection-request")).toMatchObject({ requestId, citizenId });
    again.send({ type: "accept", requestId });
    expect(await again.next("connected")).toMatchObject({ requestId });
    expect(await pointsOf(officerId)).toBe(10);
    again.close();
  });

  it("sends the request to the officer asked only; another officer cannot answer it", async () => {
    const { zip, officerId, citizenId, officer } = await scene();
    const other = await connectOfficer(zip, uniqueId());
    await other.locate(HERE.lat, HERE.lng);
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 20) });
    await officer.next("connection-request");
    other.send({ type: "accept", requestId });
    expect(await other.next("error")).toMatchObject({ code: "not_found" });
    await expect(other.next("connection-request", 200)).rejects.toThrow();
    officer.close();
    other.close();
  });

  it("returns the first answer to a resent request id and 409 to the id with another payload", async () => {
    const { zip, officerId, officer, citizenToken } = await scene();
    const body = { requestId: `req-${uniqueId()}`, officerId, zip, ...north(HERE, 20) };
    const first = await callJson("POST", "/connections", { token: citizenToken, body });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ requestId: body.requestId, status: "pending" });
    const again = await callJson("POST", "/connections", { token: citizenToken, body });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    await officer.next("connection-request");
    await expect(officer.next("connection-request", 200)).rejects.toThrow();

    const moved = await callJson("POST", "/connections", { token: citizenToken, body: { ...body, lat: body.lat + 0.001 } });
    expect(moved.status).toBe(409);
    const otherZip = await callJson("POST", "/connections", { token: citizenToken, body: { ...body, zip: uniqueZip() } });
    expect(otherZip.status).toBe(409);
    officer.close();
  });

  it("finishes, exactly once, an accepted connection whose crediting was cut short", async () => {
    const zip = uniqueZip();
    const [citizenId, officerId] = [uniqueId(), uniqueId()];
    const requestId = `cut-short-${uniqueId()}`;
    const stub = env.ZIP_AREA.getByName(zip);
    // An area where a socket once opened has its tables (a never-used one has none).
    (await connectCitizen(zip, uniqueId())).close();
    // As if the object stopped right after recording the accept, before crediting or publishing.
    await runInDurableObject(stub, async (_instance, state) => {
      const at = Date.now() - 10_000;
      state.storage.sql.exec(
        `INSERT INTO requests (request_id, zip, citizen_id, officer_id, citizen_lat, citizen_lng, status,
                               created_at, expires_at, decided_at, points_each, credited_and_published)
         VALUES (?, ?, ?, ?, 0, 0, 'accepted', ?, ?, ?, 10, 0)`,
        requestId, zip, citizenId, officerId, at, at + 60_000, at,
      );
      // Far enough ahead not to fire by itself; the test runs it now.
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, (_instance, state) => state.storage.setAlarm(Date.now() + 60_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect(await pointsOf(citizenId)).toBe(10);
    expect(await pointsOf(officerId)).toBe(10);
    const finished = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec("SELECT credited_and_published FROM requests WHERE request_id = ?", requestId).one().credited_and_published,
    );
    expect(finished).toBe(1);
    await eventually(async () => {
      const { body } = await callJson("GET", "/reports/connections?groupBy=zip", { token: await adminToken() });
      return body.rows.find((row: { zip: string }) => row.zip === zip)?.connections === 1 ? true : undefined;
    });
  });

  it("changes nothing when it refuses a request because the officer is not available, so the same id works later", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const citizenToken = await tokenFor(uniqueId(), ["citizen"]);
    const body = { requestId: `refused-${uniqueId()}`, officerId, zip, ...north(HERE, 50) };
    const refused = await callJson("POST", "/connections", { token: citizenToken, body });
    expect(refused.status).toBe(404);
    expect((await status(body.requestId, citizenToken)).status).toBe(404);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM connection_requests WHERE request_id = ?").bind(body.requestId).first<{ n: number }>();
    expect(rows?.n).toBe(0);

    // The citizen has moved a little by the time the officer is there; the id is still theirs to use.
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    const retried = await callJson("POST", "/connections", { token: citizenToken, body: { ...body, ...north(HERE, 60) } });
    expect(retried).toMatchObject({ status: 202, body: { requestId: body.requestId, status: "pending" } });
    expect(await officer.next("connection-request")).toMatchObject({ requestId: body.requestId });
    expect((await status(body.requestId, citizenToken)).body.status).toBe("pending");
    officer.close();
  });

  it("validates the request and who sends it", async () => {
    const { zip, officerId, citizenId, officer, citizenToken, near } = await scene();
    const invalid = await callJson("POST", "/connections", {
      token: citizenToken,
      body: { zip: "!", lat: 100, lng: near.lng },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["lat", "officerId", "zip"]);

    const absent = await callJson("POST", "/connections", { token: citizenToken, body: { officerId: uniqueId(), zip, ...near } });
    expect(absent.status).toBe(404);
    const elsewhere = await callJson("POST", "/connections", { token: citizenToken, body: { officerId, zip: uniqueZip(), ...near } });
    expect(elsewhere.status).toBe(404);

    const self = await callJson("POST", "/connections", {
      token: await tokenFor(officerId, ["citizen", "officer"]),
      body: { officerId, zip, ...near },
    });
    expect(self.status).toBe(422);

    const body = { officerId, zip, ...near };
    expect((await callJson("POST", "/connections", { body })).status).toBe(401);
    expect((await callJson("POST", "/connections", { token: await tokenFor(uniqueId(), ["officer"]), body })).status).toBe(403);
    expect((await status("no-such-request", citizenToken)).status).toBe(404);
    expect((await callJson("GET", "/connections/abc")).status).toBe(401);
    expect(await pointsOf(citizenId)).toBe(0);
    officer.close();
  });
});

describe("Farming limits", () => {
  it("accept re-checks that the officer is free: of several pending requests only the first accepted connects", async () => {
    const { zip, officerId, officer, near } = await scene();
    const citizens = [uniqueId(), uniqueId(), uniqueId()];
    const requestIds: string[] = [];
    for (const citizenId of citizens) {
      requestIds.push(await requestConnection(citizenId, { officerId, zip, ...near }));
      await officer.next("connection-request");
    }
    officer.send({ type: "accept", requestId: requestIds[0]! });
    expect(await officer.next("connected")).toMatchObject({ requestId: requestIds[0], points: 10 });
    for (const requestId of requestIds.slice(1)) {
      officer.send({ type: "accept", requestId });
      expect(await officer.next("error")).toMatchObject({ code: "unavailable", requestId });
    }
    expect(await Promise.all(citizens.map(pointsOf))).toEqual([10, 0, 0]);
    expect(await pointsOf(officerId)).toBe(10);
    for (const requestId of requestIds.slice(1)) {
      expect((await status(requestId, await adminToken())).body.status).toBe("pending");
    }
    officer.close();
  });

  it("POINTS_PAIR_DAILY_CAP: a pair's 4th connection of a UTC day connects and says so, but earns no points", async () => {
    const cap = Number(env.POINTS_PAIR_DAILY_CAP);
    expect(cap).toBe(3);
    // A run that straddles UTC midnight splits the connections over two days: run it again.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const day = new Date().toISOString().slice(0, 10);
      const [zip, officerId, citizenId] = [uniqueZip(), uniqueId(), uniqueId()];
      const citizen = await connectCitizen(zip, citizenId);
      const outcomes: Array<{ points: number; pointsCapped: boolean; detail?: string }> = [];
      const told: Array<{ points?: number; pointsCapped?: boolean }> = [];
      for (let n = 0; n <= cap; n += 1) {
        // Each accept makes the officer busy; a new presence socket makes them available again.
        const officer = await connectOfficer(zip, officerId);
        await officer.locate(HERE.lat, HERE.lng);
        const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 50) });
        await officer.next("connection-request");
        officer.send({ type: "accept", requestId });
        outcomes.push(await officer.next("connected"));
        const message = await citizen.next("connection");
        told.push(message.status === "accepted" ? { points: message.points, pointsCapped: message.pointsCapped } : {});
        officer.close();
      }
      if (new Date().toISOString().slice(0, 10) !== day) continue;
      expect(outcomes.map((o) => [o.points, o.pointsCapped])).toEqual([[10, false], [10, false], [10, false], [0, true]]);
      expect(outcomes[cap]!.detail).toContain("no points");
      expect(told).toEqual([
        { points: 10, pointsCapped: false },
        { points: 10, pointsCapped: false },
        { points: 10, pointsCapped: false },
        { points: 0, pointsCapped: true },
      ]);
      expect(await pointsOf(citizenId)).toBe(30);
      expect(await pointsOf(officerId)).toBe(30);
      // Still a connection for reports.
      await eventually(async () => {
        const { body } = await callJson("GET", "/reports/connections?groupBy=zip", { token: await adminToken() });
        return body.rows.find((row: { zip: string }) => row.zip === zip)?.connections === cap + 1 ? true : undefined;
      });
      citizen.close();
      return;
    }
    throw new Error("every attempt straddled UTC midnight");
  });
});
