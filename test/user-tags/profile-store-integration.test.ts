import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROFILE_SHARDS, profileShardOf } from "../../durable-objects/profile-store/profile-store.ts";
import { profileStoreStub } from "../../durable-objects/profile-store/stub.ts";
import type { UserTagMessage } from "../../shared/messages.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import { userTagSchema } from "../../workers/user-tags/schemas.ts";
import { adminToken, call, callJson, tokenFor } from "../support/http.ts";
import { deliver } from "../support/queues.ts";

const base = Date.parse("2022-05-01T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const local = (ms: number) => iso(ms).slice(0, -1);

function tag(cookie: string, ms: number, action: "VIEW" | "BUY" = "VIEW") {
  return {
    time: iso(ms),
    cookie,
    country: "PL",
    device: "PC",
    action,
    origin: "erase-origin",
    product_info: { product_id: String(ms), brand_id: "erase-brand", category_id: "erase-category", price: 10 },
  };
}

/** Accepts tags as `POST /user_tags` does, at `acceptedAt`, without delivering them yet. */
const accept = (tags: ReturnType<typeof tag>[], acceptedAt?: number) =>
  Promise.all(tags.map((t) => acceptTag(userTagSchema.parse(t), acceptedAt)));

/** Delivers accepted tags to the user-tags consumer as one queue batch; every tag is stored. */
async function deliverTags(bodies: UserTagMessage[]) {
  expect((await deliver("user-tags", bodies)).retryMessages).toEqual([]);
}

async function profile(cookie: string) {
  const range = `${local(base - 60_000)}_${local(base + 3_600_000)}`;
  return callJson<{ cookie: string; views: Array<{ time: string }>; buys: Array<{ time: string }> }>(
    "POST",
    `/user_profiles/${encodeURIComponent(cookie)}?time_range=${range}`,
  );
}

async function viewCount(): Promise<string> {
  const { body } = await callJson<{ rows: string[][] }>(
    "POST",
    "/aggregates?time_range=2022-05-01T10:00:00_2022-05-01T10:01:00&action=VIEW&origin=erase-origin&aggregates=COUNT",
  );
  return body.rows[0]![3]!;
}

/** Names of the tables a profile shard holds, SQLite's and the runtime's own left out. */
function tablesOf(cookie: string): Promise<string[]> {
  return runInDurableObject(profileStoreStub(env, cookie), (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'")
      .toArray()
      .map((row) => row.name),
  );
}

describe("profile shards", () => {
  // First in this file, whose storage starts empty: no tag has reached any shard yet.
  it("answers empty lists for an unknown cookie without storing anything", async () => {
    const cookie = `never-seen-${crypto.randomUUID()}`;
    const { status, body } = await profile(cookie);
    expect(status).toBe(200);
    expect(body).toEqual({ cookie, views: [], buys: [] });
    expect(await tablesOf(cookie)).toEqual([]);
  });

  it("spread cookies over every shard, each cookie always on the same one", () => {
    const shards = new Set(Array.from({ length: 5_000 }, (_, i) => profileShardOf(`cookie-${i}`)));
    expect(shards.size).toBe(PROFILE_SHARDS);
    expect(profileShardOf("cookie-42")).toBe(profileShardOf("cookie-42"));
  });
});

describe("DELETE /user_profiles/{cookie}", () => {
  it("erases the profile and the tags queued before the erase; later tags start a new profile; aggregates keep counting", async () => {
    const cookie = "erase-me";
    await deliverTags(await accept([tag(cookie, base + 1_000), tag(cookie, base + 2_000, "BUY")]));
    // Accepted (answered 204) before the erase but still on their way through the queue.
    const queued = await accept([tag(cookie, base + 3_000), tag(cookie, base + 4_000, "BUY")]);
    expect((await profile(cookie)).body.views).toHaveLength(1);

    const erased = await call("DELETE", `/user_profiles/${cookie}`, { token: await adminToken() });
    expect(erased.status).toBe(204);
    expect((await profile(cookie)).body).toEqual({ cookie, views: [], buys: [] });

    await deliverTags(queued);
    expect((await profile(cookie)).body).toEqual({ cookie, views: [], buys: [] });

    const later = tag(cookie, base + 5_000);
    await deliverTags(await accept([later], Date.now() + 1));
    const { body } = await profile(cookie);
    expect(body.views).toEqual([later]);
    expect(body.buys).toEqual([]);
    // Three VIEWs were accepted in all, the erased and the queued one included.
    expect(await viewCount()).toBe("3");
  });

  it("answers 204 for a cookie with no profile and leaves other cookies alone", async () => {
    await deliverTags(await accept([tag("keep-me", base + 6_000)]));
    expect((await call("DELETE", "/user_profiles/nobody-here", { token: await adminToken() })).status).toBe(204);
    expect((await profile("keep-me")).body.views).toHaveLength(1);
  });

  it("is for admins only: 401 without a token, 403 for another role, and nothing is erased", async () => {
    await deliverTags(await accept([tag("guarded", base + 7_000)]));
    expect((await call("DELETE", "/user_profiles/guarded")).status).toBe(401);
    expect((await call("DELETE", "/user_profiles/guarded", { token: await tokenFor("shop", ["service"]) })).status).toBe(403);
    expect((await profile("guarded")).body.views).toHaveLength(1);
  });

  it("is in the OpenAPI document as deleteUserProfile", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    expect(body.paths["/user_profiles/{cookie}"].delete.operationId).toBe("deleteUserProfile");
  });
});
