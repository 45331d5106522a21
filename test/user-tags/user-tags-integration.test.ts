import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { shardName, SHARD_MS } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { tagAggregatesStub } from "../../durable-objects/tag-aggregates/stub.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import { userTagSchema } from "../../workers/user-tags/schemas.ts";
import { call, callJson, eventually } from "../support/http.ts";
import { deliver } from "../support/queues.ts";

type Tag = {
  time: string;
  cookie: string;
  country: string;
  device: string;
  action: string;
  origin: string;
  product_info: { product_id: string | number; brand_id: string; category_id: string; price: number };
};

const iso = (ms: number) => new Date(ms).toISOString();
const local = (ms: number) => iso(ms).slice(0, -1);

function makeTag(overrides: Partial<Tag> & { time: string; cookie: string }): Tag {
  return {
    country: "PL",
    device: "PC",
    action: "VIEW",
    origin: "origin-1",
    product_info: { product_id: "4711", brand_id: "brand-1", category_id: "category-1", price: 100 },
    ...overrides,
  };
}

/** Delivers tags to the user-tags consumer as one queue batch; returns the queue's verdict. */
async function deliverTags(tags: Tag[], attempts = 1) {
  const bodies = await Promise.all(tags.map((t) => acceptTag(userTagSchema.parse(t))));
  return deliver("user-tags", bodies, { attempts });
}

async function profile(cookie: string, from: number, to: number, limit?: number, body?: unknown) {
  const query = `time_range=${local(from)}_${local(to)}${limit === undefined ? "" : `&limit=${limit}`}`;
  return callJson<{ cookie: string; views: Tag[]; buys: Tag[] }>("POST", `/user_profiles/${encodeURIComponent(cookie)}?${query}`, body === undefined ? {} : { body });
}

async function aggregates(query: string, body?: unknown) {
  return callJson<{ columns: string[]; rows: string[][]; errors: Array<{ path: string }> }>("POST", `/aggregates?${query}`, body === undefined ? {} : { body });
}

afterEach(() => vi.restoreAllMocks());

describe("POST /user_tags", () => {
  const valid = makeTag({ time: "2022-03-22T12:15:00.000Z", cookie: "http-cookie" });

  it("answers 204 with an empty body for a tag with milliseconds, without them, and with a numeric product_id", async () => {
    for (const tag of [valid, { ...valid, time: "2022-03-22T12:15:00Z" }, { ...valid, product_info: { ...valid.product_info, product_id: 42 } }]) {
      const response = await call("POST", "/user_tags", { body: tag });
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
    }
  });

  it("refuses each bad field with a 400 naming it", async () => {
    const info = valid.product_info;
    const cases: Array<[string, unknown]> = [
      ["time", { ...valid, time: "2022-03-22 12:15:00" }],
      ["time", { ...valid, time: "2022-03-22T12:15:00.000" }],
      ["time", { ...valid, time: "2022-02-30T12:15:00.000Z" }],
      ["cookie", { ...valid, cookie: "" }],
      ["cookie", { ...valid, cookie: "x".repeat(257) }],
      ["country", { ...valid, country: 48 }],
      ["device", { ...valid, device: "WATCH" }],
      ["action", { ...valid, action: "CLICK" }],
      ["origin", { ...valid, origin: undefined }],
      ["product_info", { ...valid, product_info: undefined }],
      ["product_info.product_id", { ...valid, product_info: { ...info, product_id: 1.5 } }],
      ["product_info.brand_id", { ...valid, product_info: { ...info, brand_id: null } }],
      ["product_info.category_id", { ...valid, product_info: { ...info, category_id: 3 } }],
      ["product_info.price", { ...valid, product_info: { ...info, price: 2_147_483_648 } }],
      ["product_info.price", { ...valid, product_info: { ...info, price: -2_147_483_649 } }],
      ["product_info.price", { ...valid, product_info: { ...info, price: 9.99 } }],
    ];
    for (const [path, body] of cases) {
      const { status, body: problem } = await callJson("POST", "/user_tags", { body });
      expect(status, JSON.stringify(body)).toBe(400);
      expect(problem.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
  });

  it("accepts the int32 bounds as prices", async () => {
    for (const price of [2_147_483_647, -2_147_483_648]) {
      const response = await call("POST", "/user_tags", { body: { ...valid, product_info: { ...valid.product_info, price } } });
      expect(response.status).toBe(204);
    }
  });

  it("makes the tag visible in the profile and the aggregates through the queue", async () => {
    const time = Date.parse("2022-04-01T10:00:30.000Z");
    const tag = makeTag({ time: iso(time), cookie: "queued-cookie", action: "BUY", origin: "queued-origin" });
    expect((await call("POST", "/user_tags", { body: tag })).status).toBe(204);
    const buys = await eventually(async () => {
      const { body } = await profile("queued-cookie", time, time + 1);
      return body.buys.length ? body.buys : undefined;
    });
    expect(buys).toEqual([tag]);
    const { body } = await aggregates("time_range=2022-04-01T10:00:00_2022-04-01T10:01:00&action=BUY&origin=queued-origin&aggregates=COUNT");
    expect(body.rows).toEqual([["2022-04-01T10:00:00", "BUY", "queued-origin", "1"]]);
  });
});

describe("POST /user_profiles/{cookie}", () => {
  const base = Date.parse("2022-03-01T00:00:00.000Z");

  it("lists views and buys newest first within [from, to), echoing each tag as it was accepted", async () => {
    const cookie = "profile-range";
    const tags = [
      makeTag({ cookie, time: iso(base), action: "VIEW" }),
      makeTag({ cookie, time: "2022-03-01T00:00:01Z", action: "BUY", product_info: { product_id: 7, brand_id: "b", category_id: "c", price: 5 } }),
      makeTag({ cookie, time: iso(base + 2000), action: "VIEW" }),
      makeTag({ cookie, time: iso(base + 3000), action: "VIEW" }),
    ];
    const result = await deliverTags(tags);
    expect(result.explicitAcks).toHaveLength(4);
    const { status, body } = await profile(cookie, base, base + 3000);
    expect(status).toBe(200);
    expect(body.cookie).toBe(cookie);
    expect(body.views.map((t) => t.time)).toEqual([iso(base + 2000), iso(base)]);
    expect(body.buys).toEqual([{ ...tags[1], time: "2022-03-01T00:00:01.000Z" }]);
    const exact = await profile(cookie, base + 2000, base + 2001);
    expect(exact.body.views.map((t) => t.time)).toEqual([iso(base + 2000)]);
    const empty = await profile(cookie, base + 2001, base + 3000);
    expect(empty.body).toEqual({ cookie, views: [], buys: [] });
  });

  it("finds a cookie with slashes, spaces and non-ASCII characters when it is URL-encoded", async () => {
    const cookie = "a/b c?ż=1";
    const tag = makeTag({ cookie, time: iso(base + 7) });
    await deliverTags([tag]);
    const { body } = await profile(cookie, base, base + 10);
    expect(body).toEqual({ cookie, views: [tag], buys: [] });
  });

  it("accepts range bounds without milliseconds", async () => {
    const cookie = "profile-seconds";
    await deliverTags([makeTag({ cookie, time: "2022-03-01T00:00:01.610Z" })]);
    const { body } = await callJson("POST", `/user_profiles/${cookie}?time_range=2022-03-01T00:00:01_2022-03-01T00:00:02`);
    expect(body.views).toHaveLength(1);
  });

  it("cuts each list to limit and keeps the 200 most recent of each action separately", async () => {
    const cookie = "profile-many";
    const views = Array.from({ length: 230 }, (_, i) => makeTag({ cookie, time: iso(base + i * 1000), action: "VIEW" }));
    const buys = Array.from({ length: 5 }, (_, i) => makeTag({ cookie, time: iso(base + i * 1000 + 1), action: "BUY" }));
    await deliverTags(views.slice(100));
    await deliverTags([...views.slice(0, 100).reverse(), ...buys]);
    const all = await profile(cookie, base, base + 3_600_000);
    expect(all.body.views).toHaveLength(200);
    expect(all.body.views[0]!.time).toBe(iso(base + 229_000));
    expect(all.body.views[199]!.time).toBe(iso(base + 30_000));
    expect(all.body.buys.map((t) => t.time)).toEqual(buys.map((t) => t.time).reverse());
    await deliverTags([views[0]!], 2);
    const afterRedelivery = await profile(cookie, base, base + 3_600_000);
    expect(afterRedelivery.body.views).toEqual(all.body.views);
    const limited = await profile(cookie, base, base + 3_600_000, 3);
    expect(limited.body.views.map((t) => t.time)).toEqual([iso(base + 229_000), iso(base + 228_000), iso(base + 227_000)]);
    expect(limited.body.buys).toHaveLength(3);
  });

  it("stores a redelivered batch once", async () => {
    const cookie = "profile-redelivered";
    const tags = [makeTag({ cookie, time: iso(base + 1) }), makeTag({ cookie, time: iso(base + 2), action: "BUY" })];
    await deliverTags(tags);
    await deliverTags(tags, 2);
    const { body } = await profile(cookie, base, base + 10);
    expect(body.views).toHaveLength(1);
    expect(body.buys).toHaveLength(1);
  });

  it("refuses a bad time_range or limit with a 400 naming it, and to before from with 422", async () => {
    const cases: Array<[string, number, string]> = [
      ["time_range=2022-03-01T00:00:00Z_2022-03-01T00:01:00", 400, "query.time_range"],
      ["time_range=2022-03-01T00:00:00", 400, "query.time_range"],
      ["limit=10", 400, "query.time_range"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&limit=201", 400, "query.limit"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&limit=0", 400, "query.limit"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&limit=ten", 400, "query.limit"],
      ["time_range=2022-03-01T00:01:00_2022-03-01T00:00:00", 422, "query.time_range"],
    ];
    for (const [query, status, path] of cases) {
      const response = await callJson("POST", `/user_profiles/c?${query}`);
      expect(response.status, query).toBe(status);
      expect(response.body.errors.map((e: { path: string }) => e.path), query).toContain(path);
    }
  });

  it("answers as usual in debug mode and logs when the expected answer differs", async () => {
    const cookie = "profile-debug";
    const tag = makeTag({ cookie, time: iso(base + 5) });
    await deliverTags([tag]);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const same = await profile(cookie, base, base + 10, undefined, { cookie, views: [tag], buys: [] });
    expect(same.body).toEqual({ cookie, views: [tag], buys: [] });
    expect(warn).not.toHaveBeenCalled();
    const differs = await profile(cookie, base, base + 10, undefined, { cookie, views: [], buys: [] });
    expect(differs.status).toBe(200);
    expect(differs.body.views).toEqual([tag]);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]![0])).toContain("$.views.length");
  });
});

describe("POST /aggregates", () => {
  const hour = "2022-03-02T05";
  const t = (minute: number, second: number) => `${hour}:${String(minute).padStart(2, "0")}:${String(second).padStart(2, "0")}.000Z`;
  const seeded = (async () => {
    const tags = [
      makeTag({ cookie: "a1", time: t(1, 0), origin: "o1", product_info: { product_id: 1, brand_id: "b1", category_id: "c1", price: 10 } }),
      makeTag({ cookie: "a2", time: t(1, 30), origin: "o1", product_info: { product_id: 2, brand_id: "b2", category_id: "c1", price: 20 } }),
      makeTag({ cookie: "a3", time: t(1, 59), origin: "o2", product_info: { product_id: 3, brand_id: "b1", category_id: "c2", price: 40 } }),
      makeTag({ cookie: "a1", time: t(3, 0), origin: "o1", product_info: { product_id: 1, brand_id: "b1", category_id: "c1", price: 1000 } }),
      makeTag({ cookie: "a1", time: t(3, 1), action: "BUY", origin: "o1", product_info: { product_id: 1, brand_id: "b1", category_id: "c1", price: 7 } }),
    ];
    await deliverTags(tags);
  })();
  const range = `time_range=${hour}:00:00_${hour}:05:00`;

  it("answers one row per minute, zeros included, with the filter and aggregate columns in order", async () => {
    await seeded;
    const { status, body } = await aggregates(`${range}&action=VIEW&aggregates=COUNT&aggregates=SUM_PRICE`);
    expect(status).toBe(200);
    expect(body).toEqual({
      columns: ["1m_bucket", "action", "count", "sum_price"],
      rows: [
        [`${hour}:00:00`, "VIEW", "0", "0"],
        [`${hour}:01:00`, "VIEW", "3", "70"],
        [`${hour}:02:00`, "VIEW", "0", "0"],
        [`${hour}:03:00`, "VIEW", "1", "1000"],
        [`${hour}:04:00`, "VIEW", "0", "0"],
      ],
    });
  });

  it("filters by every combination of origin, brand_id and category_id", async () => {
    await seeded;
    const filters = { origin: "o1", brand_id: "b1", category_id: "c1" } as const;
    const names = Object.keys(filters) as Array<keyof typeof filters>;
    const minuteOne = [
      { origin: "o1", brand_id: "b1", category_id: "c1", price: 10 },
      { origin: "o1", brand_id: "b2", category_id: "c1", price: 20 },
      { origin: "o2", brand_id: "b1", category_id: "c2", price: 40 },
    ];
    for (let mask = 0; mask < 8; mask++) {
      const present = names.filter((_, i) => mask & (1 << i));
      const query = `${range}&action=VIEW&aggregates=SUM_PRICE&aggregates=COUNT${present.map((n) => `&${n}=${filters[n]}`).join("")}`;
      const { body } = await aggregates(query);
      const matching = minuteOne.filter((tag) => present.every((n) => tag[n] === filters[n]));
      expect(body.columns, query).toEqual(["1m_bucket", "action", ...present, "sum_price", "count"]);
      const sum = matching.reduce((total, tag) => total + tag.price, 0);
      expect(body.rows[1], query).toEqual([`${hour}:01:00`, "VIEW", ...present.map((n) => filters[n]), String(sum), String(matching.length)]);
      for (const row of body.rows) for (const value of row) expect(typeof value).toBe("string");
    }
  });

  it("keeps VIEW and BUY apart", async () => {
    await seeded;
    const { body } = await aggregates(`${range}&action=BUY&aggregates=COUNT`);
    expect(body.rows.map((row) => row[2])).toEqual(["0", "0", "0", "1", "0"]);
  });

  it("counts a redelivered batch once", async () => {
    const tags = [
      makeTag({ cookie: "r1", time: "2022-03-03T00:00:10.000Z", origin: "redelivery" }),
      makeTag({ cookie: "r2", time: "2022-03-03T00:00:20.000Z", origin: "redelivery" }),
    ];
    const first = await deliverTags(tags);
    const again = await deliverTags(tags, 2);
    expect(again.explicitAcks).toHaveLength(2);
    expect(first.retryMessages).toEqual([]);
    const { body } = await aggregates("time_range=2022-03-03T00:00:00_2022-03-03T00:01:00&action=VIEW&origin=redelivery&aggregates=COUNT");
    expect(body.rows).toEqual([["2022-03-03T00:00:00", "VIEW", "redelivery", "2"]]);
  });

  it("merges the shards of a range that crosses an hour", async () => {
    await deliverTags([
      makeTag({ cookie: "h1", time: "2022-03-04T00:59:59.999Z", origin: "crossing" }),
      makeTag({ cookie: "h2", time: "2022-03-04T01:00:00.000Z", origin: "crossing" }),
    ]);
    const { body } = await aggregates("time_range=2022-03-04T00:58:00_2022-03-04T01:02:00&action=VIEW&origin=crossing&aggregates=COUNT");
    expect(body.rows.map((row) => row[3])).toEqual(["0", "1", "1", "0"]);
  });

  it("refuses more than 10 minutes, parts of minutes, a missing action or aggregate, naming the parameter", async () => {
    const cases: Array<[string, string]> = [
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:11:00&action=VIEW&aggregates=COUNT", "query.time_range"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:10:01&action=VIEW&aggregates=COUNT", "query.time_range"],
      ["time_range=2022-03-01T00:00:30_2022-03-01T00:01:30&action=VIEW&aggregates=COUNT", "query.time_range"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&aggregates=COUNT", "query.action"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&action=VIEW", "query.aggregates"],
      ["time_range=2022-03-01T00:00:00_2022-03-01T00:01:00&action=VIEW&aggregates=AVG", "query.aggregates"],
    ];
    for (const [query, path] of cases) {
      const response = await aggregates(query);
      expect(response.status, query).toBe(400);
      expect(response.body.errors.map((e: { path: string }) => e.path), query).toContain(path);
    }
  });

  it("answers exactly 10 minutes", async () => {
    const { status, body } = await aggregates("time_range=2022-03-01T00:00:00_2022-03-01T00:10:00&action=VIEW&aggregates=COUNT");
    expect(status).toBe(200);
    expect(body.rows).toHaveLength(10);
  });

  it("logs in debug mode when the expected answer differs, and still answers with ours", async () => {
    await seeded;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const query = `time_range=${hour}:01:00_${hour}:02:00&action=VIEW&aggregates=COUNT`;
    const expected = { columns: ["1m_bucket", "action", "count"], rows: [[`${hour}:01:00`, "VIEW", "3"]] };
    expect((await aggregates(query, expected)).body).toEqual(expected);
    expect(warn).not.toHaveBeenCalled();
    const { status, body } = await aggregates(query, { ...expected, rows: [[`${hour}:01:00`, "VIEW", "4"]] });
    expect(status).toBe(200);
    expect(body).toEqual(expected);
    expect(warn).toHaveBeenCalledOnce();
  });
});

describe("OpenAPI document", () => {
  it("describes the three Allezon endpoints with their parameters", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(["/user_tags", "/user_profiles/{cookie}", "/aggregates"]));
    const names = body.paths["/aggregates"].post.parameters.map((p: { name: string }) => p.name);
    expect(names).toEqual(["time_range", "action", "aggregates", "origin", "brand_id", "category_id", "granularity"]);
  });
});

describe("TagAggregates retention", () => {
  it("keeps a shard that was written within the retention period when its alarm fires", async () => {
    const shardStart = Date.parse("2022-03-05T00:00:00.000Z");
    await deliverTags([makeTag({ cookie: "kept", time: iso(shardStart + 1000), origin: "retained" })]);
    const stub = tagAggregatesStub(env, shardStart);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const totals = await stub.totals({ from: shardStart, to: shardStart + SHARD_MS, action: "VIEW", origin: "retained" });
    expect(totals).toEqual([{ minute: shardStart, count: 1, sumPrice: 100 }]);
    expect(shardName(shardStart)).toBe("tags:2022-03-05T00");
  });

  it("drops a shard whose last write is older than the retention period", async () => {
    const shardStart = Date.parse("2022-03-06T00:00:00.000Z");
    await deliverTags([makeTag({ cookie: "dropped", time: iso(shardStart + 1000), origin: "expired" })]);
    const stub = tagAggregatesStub(env, shardStart);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE shard_meta SET value = value - ? WHERE key = 'last_write'", 26 * SHARD_MS);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.totals({ from: shardStart, to: shardStart + SHARD_MS, action: "VIEW" })).toEqual([]);
  });
});
