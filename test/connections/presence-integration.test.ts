import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OfficerAttachment } from "../../durable-objects/zip-area/zip-area.ts";
import { AVAILABLE_FOR_MS, CLOSE_AVAILABILITY_ENDED, CLOSE_REPLACED, PING } from "../../durable-objects/zip-area/zip-area.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { callJson, eventually, tokenFor } from "../support/http.ts";
import { haversineMeters, shownDistance } from "../../durable-objects/zip-area/geo.ts";
import { coarseAt, connectOfficer, north, pointsOf, requestConnection, uniqueZip } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

async function nearby(query: string, citizenId = "9001") {
  return callJson("GET", `/officers/nearby?${query}`, { token: await tokenFor(citizenId, ["citizen"]) });
}

function east(point: { lat: number; lng: number }, meters: number) {
  return { lat: point.lat, lng: point.lng + meters / (111_195 * Math.cos((point.lat * Math.PI) / 180)) };
}

describe("Officer presence socket", () => {
  it("refuses a socket without a token, to a citizen, without an upgrade, or for a bad zip", async () => {
    const open = (path: string, headers: Record<string, string> = { Upgrade: "websocket" }) =>
      exports.default.fetch(new Request(`https://tally.test${path}`, { headers }));
    expect((await open("/presence/10001")).status).toBe(401);
    const citizen = await tokenFor("5", ["citizen"]);
    expect((await open(`/presence/10001?token=${citizen}`)).status).toBe(403);
    const officer = await tokenFor("6", ["officer"]);
    const plain = await open(`/presence/10001?token=${officer}`, {});
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe("header.upgrade");
    const badZip = await open(`/presence/${encodeURIComponent("no zip!")}?token=${officer}`);
    expect(badZip.status).toBe(400);
  });

  it("tells the officer how long they are available and echoes each location", async () => {
    const before = Date.now();
    const socket = await connectOfficer(uniqueZip(), uniqueId());
    const available = await socket.locate(HERE.lat, HERE.lng);
    const until = Date.parse(available.availableUntil);
    expect(until).toBeGreaterThanOrEqual(before + AVAILABLE_FOR_MS);
    expect(until).toBeLessThanOrEqual(Date.now() + AVAILABLE_FOR_MS);
    expect(available.location).toEqual(HERE);
    socket.close();
  });

  it("answers bad messages with an error and keeps the socket open", async () => {
    const zip = uniqueZip();
    const socket = await connectOfficer(zip, uniqueId());
    socket.send("not json");
    expect((await socket.next("error")).code).toBe("invalid_message");
    socket.send({ type: "location", lat: 91, lng: 0 });
    const outOfRange = await socket.next("error");
    expect(outOfRange).toMatchObject({ code: "invalid_message" });
    expect(outOfRange.detail).toContain("lat");
    socket.send({ type: "dance" });
    expect((await socket.next("error")).code).toBe("invalid_message");
    socket.ws.send(new Uint8Array([1, 2, 3]));
    expect((await socket.next("error")).code).toBe("invalid_message");
    socket.send({ type: "accept", requestId: "nobody-asked" });
    expect(await socket.next("error")).toMatchObject({ code: "not_found", requestId: "nobody-asked" });
    expect((await socket.locate(HERE.lat, HERE.lng)).location).toEqual(HERE);
    socket.send(PING);
    await socket.next("pong");
    socket.close();
  });

  it("keeps the officer's identity and location across hibernation", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const citizenId = uniqueId();
    const socket = await connectOfficer(zip, officerId);
    await socket.locate(HERE.lat, HERE.lng);

    const stub = zipAreaStub(env, zip);
    await evictDurableObject(stub);

    // A fresh instance: the grid is rebuilt from SQLite, the socket's identity from its attachment.
    const { body } = await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`);
    expect(body.officers.map((o: { officerId: string }) => o.officerId)).toEqual([officerId]);
    const attachments = await runInDurableObject(stub, (_instance, state) =>
      state.getWebSockets().map((ws) => ws.deserializeAttachment() as OfficerAttachment),
    );
    expect(attachments).toEqual([expect.objectContaining({ officerId, zip })]);

    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 50) });
    const notice = await socket.next("connection-request");
    expect(notice).toMatchObject({ requestId, citizenId });
    socket.send({ type: "accept", requestId });
    expect(await socket.next("connected")).toMatchObject({ requestId, points: 10 });
    expect(await pointsOf(officerId)).toBe(10);
    socket.close();
  });

  it("ends availability after 15 minutes: the alarm closes the socket and forgets the location", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const socket = await connectOfficer(zip, officerId);
    const available = await socket.locate(HERE.lat, HERE.lng);
    const stub = zipAreaStub(env, zip);

    const alarmAt = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarmAt).toBe(Date.parse(available.availableUntil));

    // Nothing happens before the window ends, even if the alarm fires early.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`)).body.officers).toHaveLength(1);

    // Let the 15 minutes pass for this officer, then fire the alarm the object scheduled.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE officers SET available_until = ?", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await socket.closed).code).toBe(CLOSE_AVAILABILITY_ENDED);
    expect((await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`)).body.officers).toEqual([]);
    const left = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM officers").one().n,
    );
    expect(left).toBe(0);
  });

  it("forgets an officer who closes the socket", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const socket = await connectOfficer(zip, officerId);
    await socket.locate(HERE.lat, HERE.lng);
    const listed = await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`);
    expect(listed.body.officers.map((o: { officerId: string }) => o.officerId)).toEqual([officerId]);
    socket.close();
    await eventually(async () => {
      const { body } = await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`);
      return body.officers.length === 0 ? true : undefined;
    });
  });

  it("replaces an officer's older socket when they connect again, keeping them available", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const first = await connectOfficer(zip, officerId);
    await first.locate(HERE.lat, HERE.lng);
    const second = await connectOfficer(zip, officerId);
    expect((await first.closed).code).toBe(CLOSE_REPLACED);
    const { body } = await nearby(`zip=${zip}&lat=${HERE.lat}&lng=${HERE.lng}`);
    expect(body.officers).toEqual([expect.objectContaining({ officerId })]);
    second.close();
  });
});

describe("GET /officers/nearby", () => {
  it("merges two zips, nearest first, within the radius", async () => {
    const [zipA, zipB] = [uniqueZip(), uniqueZip()];
    const placed = [
      { id: uniqueId(), zip: zipA, at: north(HERE, 100) },
      { id: uniqueId(), zip: zipB, at: east(HERE, 50) },
      { id: uniqueId(), zip: zipA, at: north(HERE, 1500) },
      { id: uniqueId(), zip: zipB, at: east(HERE, -700) },
      { id: uniqueId(), zip: uniqueZip(), at: north(HERE, 10) },
    ];
    const sockets = [];
    for (const officer of placed) {
      const socket = await connectOfficer(officer.zip, officer.id);
      await socket.locate(officer.at.lat, officer.at.lng);
      sockets.push(socket);
    }
    // Each officer as clients see them: at their cell's centre on this window's grid.
    const seen = await Promise.all(
      placed.map(async (officer) => ({ ...officer, distance: haversineMeters(HERE, await coarseAt(officer.zip, officer.id, officer.at)) })),
    );
    const expected = (radius: number, zips: string[]) =>
      seen.filter((o) => zips.includes(o.zip) && o.distance <= radius).sort((x, y) => x.distance - y.distance).map((o) => o.id);
    const ids = (answer: { body: { officers: Array<{ officerId: string }> } }) => answer.body.officers.map((o) => o.officerId);

    const standard = await nearby(`zip=${zipA},${zipB}&lat=${HERE.lat}&lng=${HERE.lng}`);
    expect(standard.status).toBe(200);
    expect(ids(standard)).toEqual(expected(1000, [zipA, zipB]));
    expect(ids(standard)).toHaveLength(3);
    const [first] = standard.body.officers;
    const nearest = seen.find((o) => o.id === first.officerId)!;
    expect(first.zip).toBe(nearest.zip);
    expect(first.distanceMeters).toBe(shownDistance(nearest.distance));

    const wide = await nearby(`zip=${zipA},${zipB}&lat=${HERE.lat}&lng=${HERE.lng}&radius=2000`);
    expect(ids(wide)).toEqual(expected(2000, [zipA, zipB]));
    expect(ids(wide)).toHaveLength(4);
    // A radius reaching just the nearest cell centre finds the nearest only (and the second too when the
    // two grids happened to put both centres within the same metre: the offsets are random per window).
    const [d0, d1] = seen.filter((o) => o.zip !== placed[4]!.zip).map((o) => o.distance).sort((x, y) => x - y);
    const between = Math.max(1, Math.ceil(d0!));
    const narrow = await nearby(`zip=${zipA},${zipB}&lat=${HERE.lat}&lng=${HERE.lng}&radius=${between}`);
    expect(ids(narrow)).toEqual(expected(between, [zipA, zipB]));
    expect(ids(narrow)).toHaveLength(d1! > between ? 1 : 2);
    const oneZip = await nearby(`zip=${zipA}&lat=${HERE.lat}&lng=${HERE.lng}&radius=10000`);
    expect(ids(oneZip)).toEqual(expected(10000, [zipA]));
    expect(ids(oneZip)).toHaveLength(2);
    const empty = await nearby(`zip=${uniqueZip()}&lat=${HERE.lat}&lng=${HERE.lng}`);
    expect(empty.body).toEqual({ officers: [] });
    for (const socket of sockets) socket.close();
  });

  it("refuses bad queries with 400 naming the field", async () => {
    const cases: Array<[string, string]> = [
      [`zip=10001&lat=40&lng=-74&radius=10001`, "query.radius"],
      [`zip=10001&lat=40&lng=-74&radius=0`, "query.radius"],
      [`zip=10001&lng=-74`, "query.lat"],
      [`zip=10001&lat=95&lng=-74`, "query.lat"],
      [`zip=10001&lat=40&lng=abc`, "query.lng"],
      [`lat=40&lng=-74`, "query.zip"],
      [`zip=10001,,10002&lat=40&lng=-74`, "query.zip.1"],
    ];
    for (const [query, path] of cases) {
      const { status, body } = await nearby(query);
      expect(status, query).toBe(400);
      expect(body.errors.map((e: { path: string }) => e.path), query).toContain(path);
    }
    const max = await nearby(`zip=10001&lat=40&lng=-74&radius=10000`);
    expect(max.status).toBe(200);
  });

  it("is for citizens only", async () => {
    const query = `/officers/nearby?zip=10001&lat=40&lng=-74`;
    expect((await callJson("GET", query)).status).toBe(401);
    expect((await callJson("GET", query, { token: await tokenFor("3", ["officer"]) })).status).toBe(403);
  });
});
