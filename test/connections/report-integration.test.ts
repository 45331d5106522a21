import { describe, expect, it } from "vitest";
import type { EstablishedConnectionMessage } from "../../shared/messages.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { deliver } from "../support/queues.ts";

const DAY = 86_400_000;
const NOV_20 = Date.parse("2026-11-20T10:00:00.000Z");
const JUN_15 = Date.parse("2026-06-15T10:00:00.000Z");

function established(requestId: string, zip: string, at: number): EstablishedConnectionMessage {
  return { kind: "established-connection", requestId, citizenId: "1", officerId: "2", zip, pointsEach: 10, establishedAt: at };
}

async function report(query: string) {
  return callJson("GET", `/reports/connections?${query}`, { token: await adminToken() });
}

describe("Established connections consumer and report", () => {
  it("records each connection once, even when delivered twice, and groups by zip and by day", async () => {
    // Other tests in this file record connections too, on other days and zips: the all-time report is compared before and after.
    const allTimeBefore = await report("groupBy=day");
    const messages = [
      established("rep-a", "10001", NOV_20),
      established("rep-b", "10001", NOV_20 + 3_600_000),
      established("rep-c", "10002", NOV_20 + DAY),
      established("rep-d", "10001", NOV_20 + 2 * DAY),
      established("rep-e", "10003", NOV_20 - 20 * DAY),
    ];
    const result = await deliver("established-connections", messages);
    expect(result.explicitAcks).toHaveLength(5);
    expect(result.retryMessages).toEqual([]);
    // A redelivered batch changes nothing.
    await deliver("established-connections", [messages[0]!, messages[2]!]);

    const byZip = await report("groupBy=zip&time_range=2026-11-20T00:00:00Z_2026-11-23T00:00:00Z");
    expect(byZip.status).toBe(200);
    expect(byZip.body).toEqual({
      groupBy: "zip",
      from: "2026-11-20T00:00:00.000Z",
      to: "2026-11-23T00:00:00.000Z",
      total: 4,
      rows: [
        { zip: "10001", connections: 3 },
        { zip: "10002", connections: 1 },
      ],
    });

    const byDay = await report("groupBy=day&time_range=2026-11-20T00:00:00_2026-11-22T00:00:00");
    expect(byDay.body.rows).toEqual([
      { day: "2026-11-20", connections: 2 },
      { day: "2026-11-21", connections: 1 },
    ]);

    const allTime = await report("groupBy=day");
    expect(allTime.body).toMatchObject({ from: null, to: null, total: allTimeBefore.body.total + 5 });
    const onOct31 = (rows: Array<{ day: string; connections: number }>) => rows.find((row) => row.day === "2026-10-31")?.connections ?? 0;
    expect(onOct31(allTime.body.rows) - onOct31(allTimeBefore.body.rows)).toBe(1);
  });

  it("retries a message that is not an established connection instead of recording it", async () => {
    const stray = { kind: "purchase", purchaseId: "p", userId: "1", itemId: "1", amount: { minor: 1, currency: "EUR" }, timestamp: 0 } as const;
    // Its own zip and day, away from the other tests' reports.
    const result = await deliver("established-connections", [stray, established("rep-x", "20001", JUN_15)]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(1);
    const recorded = await report("groupBy=zip&time_range=2026-06-15T00:00:00Z_2026-06-16T00:00:00Z");
    expect(recorded.body.rows).toEqual([{ zip: "20001", connections: 1 }]);
  });

  it("validates the query and is for admins only", async () => {
    const bad = await report("groupBy=week");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("query.groupBy");
    const garbled = await report("time_range=yesterday");
    expect(garbled.status).toBe(400);
    expect(garbled.body.errors[0].path).toBe("query.time_range");
    expect((await report("time_range=2026-11-22T00:00:00Z_2026-11-21T00:00:00Z")).status).toBe(422);
    expect((await callJson("GET", "/reports/connections")).status).toBe(401);
    const citizen = await tokenFor("5", ["citizen"]);
    expect((await callJson("GET", "/reports/connections", { token: citizen })).status).toBe(403);
  });
});

describe("OpenAPI document", () => {
  it("documents every connections and rewards endpoint", async () => {
    const { status, body } = await callJson("GET", "/openapi.json");
    expect(status).toBe(200);
    const paths = Object.keys(body.paths);
    for (const path of [
      "/presence/{zip}",
      "/officers/nearby",
      "/nearby/{zip}",
      "/officers/{officerId}",
      "/users/{userId}/profile",
      "/connections",
      "/connections/{requestId}",
      "/reports/connections",
      "/offers",
      "/charities",
      "/redemptions",
      "/vouchers/{code}",
      "/donations",
    ]) {
      expect(paths).toContain(path);
    }
  });
});
