import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userStub } from "../../durable-objects/user/stub.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { app } from "../../workers/app.ts";
import { call, callJson, tokenFor } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";
import { uniqueZip } from "./support.ts";

/** The tables an object's SQLite holds (the constructor runs first, as for any call). */
async function tablesOf(stub: DurableObjectStub): Promise<string[]> {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((row) => row.name),
  );
}

describe("anonymous and read-only calls leave no storage behind", () => {
  it("profile reads of unused ids and nearby searches over made-up zips create no User or ZipArea tables", async () => {
    const [userId, officerId] = [uniqueId(), uniqueId()];
    const zips = [uniqueZip(), uniqueZip()];
    expect((await callJson("GET", `/users/${userId}/profile`)).status).toBe(200);
    expect((await callJson("GET", `/officers/${officerId}`)).status).toBe(200);
    const nearby = await callJson("GET", `/officers/nearby?zip=${zips.join(",")}&lat=40.7&lng=-74`, {
      token: await tokenFor(uniqueId(), ["citizen"]),
    });
    expect(nearby).toMatchObject({ status: 200, body: { officers: [] } });
    // A connection request to nobody in a made-up zip is refused and writes nothing either.
    const request = await callJson("POST", "/connections", {
      token: await tokenFor(uniqueId(), ["citizen"]),
      body: { officerId, zip: zips[0], lat: 40.7, lng: -74 },
    });
    expect(request.status).toBe(404);

    for (const id of [userId, officerId]) expect(await tablesOf(userStub(env, id))).toEqual([]);
    for (const zip of zips) expect(await tablesOf(zipAreaStub(env, zip))).toEqual([]);
    // Still answered as a new user afterwards.
    expect(await userStub(env, userId).walletView()).toEqual({ points: 0, money: [], entries: [] });
    expect(await userStub(env, userId).trophyCase()).toEqual({ connections: 0, trophies: [] });
  });

  it("the first write creates the tables, and what it wrote is read back", async () => {
    const userId = uniqueId();
    expect((await userStub(env, userId).credit({ ref: "first-write", reason: "test", points: 7 })).ok).toBe(true);
    expect(await tablesOf(userStub(env, userId))).toContain("wallet_entries");
    expect((await userStub(env, userId).walletView()).points).toBe(7);
  });
});

describe("public profile reads are rate-limited", () => {
  /** Up to `max` reads; the index of the first 429, or -1. */
  async function firstRefusal(max: number, send: () => Promise<Response>): Promise<{ index: number; response?: Response }> {
    for (let i = 0; i < max; i += 1) {
      const response = await send();
      if (response.status === 429) return { index: i, response };
      await response.body?.cancel();
    }
    return { index: -1 };
  }

  // Windows are whole minutes: a refusal is certain within 2 × limit + 1 and impossible within the first `limit`.
  it("per token sub: 429 problem+json with Retry-After after RATE_PUBLIC_PROFILES_PER_MINUTE, shared by both profile routes", async () => {
    const limit = Number(env.RATE_PUBLIC_PROFILES_PER_MINUTE);
    const token = await tokenFor(uniqueId(), ["citizen"]);
    let i = 0;
    const { index, response } = await firstRefusal(2 * limit + 1, async () =>
      call("GET", i++ % 2 ? `/officers/${uniqueId()}` : `/users/${uniqueId()}/profile`, { token }),
    );
    expect(index).toBeGreaterThanOrEqual(limit);
    expect(response?.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(response?.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("anonymous callers, as deployed: per client address (cf-connecting-ip, set by Cloudflare's edge)", async () => {
    const limit = Number(env.RATE_PUBLIC_PROFILES_PER_MINUTE);
    const read = async (address: string) => {
      const ctx = createExecutionContext();
      const request = new Request(`https://tally.test/users/${uniqueId()}/profile`, { headers: { "cf-connecting-ip": address } });
      const response = await app.fetch(request, { ...env, LOCAL_MODE: undefined }, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    };
    const address = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    const { index } = await firstRefusal(2 * limit + 1, () => read(address));
    expect(index).toBeGreaterThanOrEqual(limit);
    const other = await read("198.51.100.77");
    expect(other.status).toBe(200);
    await other.body?.cancel();
  });
});
