import { describe, expect, it } from "vitest";
import { shardName, shardsOverlapping } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { aggregatesTable, bucketLabel } from "../../workers/user-tags/aggregates.ts";
import { firstDifference } from "../../workers/user-tags/debug.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import {
  aggregatesQuerySchema,
  parseRangeBound,
  parseTagTime,
  userTagSchema,
  type AggregatesQuery,
} from "../../workers/user-tags/schemas.ts";

const at = (text: string) => Date.parse(`${text}Z`);

const tag = {
  time: "2022-03-01T00:00:01.610Z",
  cookie: "cookie-1",
  country: "PL",
  device: "PC",
  action: "VIEW",
  origin: "origin-1",
  product_info: { product_id: "4711", brand_id: "brand-1", category_id: "category-1", price: 100 },
};

describe("Allezon time formats", () => {
  it("reads range bounds with and without milliseconds as UTC", () => {
    expect(parseRangeBound("2022-03-01T00:00:01.610")).toBe(at("2022-03-01T00:00:01.610"));
    expect(parseRangeBound("2022-03-01T00:00:01")).toBe(at("2022-03-01T00:00:01.000"));
    expect(parseRangeBound("2022-03-01T00:00:01.6")).toBe(at("2022-03-01T00:00:01.600"));
  });

  it("refuses bounds with a zone, without seconds, or off the calendar", () => {
    for (const bad of ["2022-03-01T00:00:01Z", "2022-03-01T00:00", "2022-02-30T00:00:00", "2022-03-01T24:00:00", "2022-03-01"]) {
      expect(parseRangeBound(bad), bad).toBeNaN();
    }
  });

  it("reads tag times with milliseconds or without, and requires the Z", () => {
    expect(parseTagTime("2022-03-22T12:15:00.000Z")).toBe(at("2022-03-22T12:15:00"));
    expect(parseTagTime("2022-03-22T12:15:00Z")).toBe(at("2022-03-22T12:15:00"));
    expect(parseTagTime("2022-03-22T12:15:00.000")).toBeNaN();
    expect(parseTagTime("2022-03-22T12:15:00+01:00")).toBeNaN();
  });

  it("writes a bucket as Allezon does", () => {
    expect(bucketLabel(at("2022-03-01T00:05:00"))).toBe("2022-03-01T00:05:00");
  });
});

describe("tag ids", () => {
  const idOf = async (value: unknown) => (await acceptTag(userTagSchema.parse(value))).tagId;

  it("are the same for the same tag, whichever time format and product_id type it came in", async () => {
    const first = await idOf(tag);
    expect(await idOf(structuredClone(tag))).toBe(first);
    expect(await idOf({ ...tag, product_info: { ...tag.product_info, product_id: 4711 } })).toBe(first);
    expect(await idOf({ ...tag, time: "2022-03-01T00:00:01.61Z" })).toBe(first);
  });

  it("differ when any field differs", async () => {
    const first = await idOf(tag);
    const variants = [
      { ...tag, time: "2022-03-01T00:00:01.611Z" },
      { ...tag, cookie: "cookie-2" },
      { ...tag, country: "DE" },
      { ...tag, device: "TV" },
      { ...tag, action: "BUY" },
      { ...tag, origin: "origin-2" },
      { ...tag, product_info: { ...tag.product_info, product_id: "4712" } },
      { ...tag, product_info: { ...tag.product_info, brand_id: "brand-2" } },
      { ...tag, product_info: { ...tag.product_info, category_id: "category-2" } },
      { ...tag, product_info: { ...tag.product_info, price: 101 } },
    ];
    const ids = await Promise.all(variants.map(idOf));
    expect(new Set([first, ...ids]).size).toBe(variants.length + 1);
  });

  it("come with the tag normalized for the echo: time in milliseconds with Z, product_id as sent", async () => {
    const accepted = await acceptTag(userTagSchema.parse({ ...tag, time: "2022-03-01T00:00:01Z", product_info: { ...tag.product_info, product_id: 7 } }));
    expect(JSON.parse(accepted.json)).toEqual({ ...tag, time: "2022-03-01T00:00:01.000Z", product_info: { ...tag.product_info, product_id: 7 } });
  });
});

describe("aggregates table", () => {
  const query = (params: Record<string, string | string[]>): AggregatesQuery => aggregatesQuerySchema.parse(params);
  const range = "2022-03-01T00:00:00_2022-03-01T00:03:00";

  it("lists every filter present in the fixed order, then the aggregates in the query's order", () => {
    const filters = { origin: "o", brand_id: "b", category_id: "c" } as const;
    const names = Object.keys(filters) as Array<keyof typeof filters>;
    for (let mask = 0; mask < 8; mask++) {
      const present = names.filter((_, i) => mask & (1 << i));
      for (const aggregates of [["COUNT"], ["SUM_PRICE"], ["COUNT", "SUM_PRICE"], ["SUM_PRICE", "COUNT"]]) {
        const params: Record<string, string | string[]> = { time_range: range, action: "BUY", aggregates };
        for (const name of present.toReversed()) params[name] = filters[name];
        const table = aggregatesTable(query(params), []);
        const expected = ["1m_bucket", "action", ...present, ...aggregates.map((a) => a.toLowerCase())];
        expect(table.columns, JSON.stringify(params)).toEqual(expected);
        expect(table.rows[0]).toEqual(["2022-03-01T00:00:00", "BUY", ...present.map((n) => filters[n]), ...aggregates.map(() => "0")]);
      }
    }
  });

  it("has one row per minute, oldest first, zeros where nothing fell, every value a string", () => {
    const minute1 = at("2022-03-01T00:01:00");
    const table = aggregatesTable(query({ time_range: range, action: "VIEW", aggregates: ["SUM_PRICE", "COUNT"] }), [
      { bucket: minute1, count: 2, sumPrice: 300 },
      { bucket: minute1, count: 1, sumPrice: -5 },
    ]);
    expect(table.rows).toEqual([
      ["2022-03-01T00:00:00", "VIEW", "0", "0"],
      ["2022-03-01T00:01:00", "VIEW", "295", "3"],
      ["2022-03-01T00:02:00", "VIEW", "0", "0"],
    ]);
  });
});

describe("aggregates query", () => {
  const parse = (params: Record<string, string | string[]>) => aggregatesQuerySchema.safeParse(params);

  it("accepts up to 10 whole minutes and refuses more", () => {
    expect(parse({ time_range: "2022-03-01T00:00:00_2022-03-01T00:10:00", action: "VIEW", aggregates: "COUNT" }).success).toBe(true);
    const tooLong = parse({ time_range: "2022-03-01T00:00:00_2022-03-01T00:10:01", action: "VIEW", aggregates: "COUNT" });
    expect(tooLong.success).toBe(false);
    const beyond = parse({ time_range: "2022-03-01T00:00:00_2022-03-01T00:11:00", action: "VIEW", aggregates: "COUNT" });
    expect(beyond.error?.issues[0]?.message).toMatch(/10 minutes/);
  });

  it("refuses bounds that are not whole minutes", () => {
    const result = parse({ time_range: "2022-03-01T00:00:30_2022-03-01T00:01:30", action: "VIEW", aggregates: "COUNT" });
    expect(result.error?.issues[0]?.message).toMatch(/whole minutes/);
  });
});

describe("time shards", () => {
  it("name one object per hour of event time and cover a range that crosses an hour", () => {
    const from = at("2022-03-01T00:55:00");
    const starts = shardsOverlapping(from, at("2022-03-01T01:05:00"));
    expect(starts.map(shardName)).toEqual(["tags:2022-03-01T00", "tags:2022-03-01T01"]);
    expect(shardsOverlapping(from, from)).toEqual([]);
  });
});

describe("debug comparison", () => {
  it("finds the first difference and ignores key order", () => {
    expect(firstDifference({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBeUndefined();
    expect(firstDifference({ rows: [["1", "2"]] }, { rows: [["1", "3"]] })).toBe("$.rows[0][1]");
    expect(firstDifference({ views: [1] }, { views: [] })).toBe("$.views.length");
    expect(firstDifference({ a: 1 }, { b: 1 })).toBe("$.a");
  });
});
