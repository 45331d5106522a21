import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { isoTimeRangeSchema } from "../../shared/time.ts";
import { UNPROCESSABLE } from "../../shared/validation.ts";
import { aggregatesQuerySchema, profileQuerySchema } from "../../workers/user-tags/schemas.ts";

/** What a client gets back for `text`: the range, or the status and message of the answer. */
function outcome(schema: z.ZodType, text: string): { from: number; to: number } | { status: 400 | 422; message: string } {
  const result = schema.safeParse(text);
  if (result.success) return result.data as { from: number; to: number };
  const [issue] = result.error.issues;
  const impossible = (issue as { params?: { kind?: string } }).params?.kind === UNPROCESSABLE;
  return { status: impossible ? 422 : 400, message: issue!.message };
}

const ms = Date.parse;

describe("ISO time_range (reports, ad performance)", () => {
  it("reads two ISO ends, `Z` optional, `to` exclusive", () => {
    expect(outcome(isoTimeRangeSchema, "2026-11-01T00:00:00Z_2026-12-01T00:00")).toEqual({ from: ms("2026-11-01T00:00:00Z"), to: ms("2026-12-01T00:00Z") });
  });

  it("answers 400 for malformed text and 422 for an empty or backwards range", () => {
    const malformed = { status: 400, message: "must be <from>_<to>, each ISO 8601 UTC such as 2026-11-01T00:00:00Z" };
    expect(outcome(isoTimeRangeSchema, "2026-11-01T00:00:00Z")).toEqual(malformed);
    expect(outcome(isoTimeRangeSchema, "a_b_c")).toEqual(malformed);
    expect(outcome(isoTimeRangeSchema, "2026-11-01_2026-12-01")).toEqual(malformed);
    const impossible = { status: 422, message: "the range must end after it starts" };
    expect(outcome(isoTimeRangeSchema, "2026-11-01T00:00Z_2026-11-01T00:00Z")).toEqual(impossible);
    expect(outcome(isoTimeRangeSchema, "2026-12-01T00:00Z_2026-11-01T00:00Z")).toEqual(impossible);
  });
});

describe("Allezon time_range", () => {
  const profiles = profileQuerySchema.shape.time_range;
  const aggregates = aggregatesQuerySchema.shape.time_range;

  it("reads ends without `Z` to the millisecond, and an empty range", () => {
    expect(outcome(profiles, "2022-03-01T00:00:01.610_2022-03-01T00:05:00")).toEqual({ from: ms("2022-03-01T00:00:01.610Z"), to: ms("2022-03-01T00:05:00Z") });
    expect(outcome(profiles, "2022-03-01T00:05:00_2022-03-01T00:05:00")).toEqual({ from: ms("2022-03-01T00:05:00Z"), to: ms("2022-03-01T00:05:00Z") });
  });

  it("refuses a `Z`, an impossible date and a backwards range", () => {
    const malformed = { status: 400, message: "must be <from>_<to> such as 2022-03-01T00:00:01.610_2022-03-01T00:05:00 (UTC, no Z)" };
    expect(outcome(profiles, "2022-03-01T00:00:00Z_2022-03-01T00:05:00Z")).toEqual(malformed);
    expect(outcome(profiles, "2022-02-30T00:00:00_2022-03-01T00:05:00")).toEqual(malformed);
    expect(outcome(profiles, "2022-03-01T00:05:00_2022-03-01T00:00:00")).toEqual({ status: 422, message: "`to` is before `from`" });
  });

  it("asks aggregates for whole minutes over at most 10 minutes, checked before the order", () => {
    expect(outcome(aggregates, "2022-03-01T00:05:00_2022-03-01T00:15:00")).toEqual({ from: ms("2022-03-01T00:05:00Z"), to: ms("2022-03-01T00:15:00Z") });
    const minutes = { status: 400, message: "both ends must be whole minutes such as 2022-03-01T00:05:00" };
    expect(outcome(aggregates, "2022-03-01T00:05:30_2022-03-01T00:06:00")).toEqual(minutes);
    expect(outcome(aggregates, "2022-03-01T00:05:30_2022-03-01T00:00:00")).toEqual(minutes);
    expect(outcome(aggregates, "2022-03-01T00:05:00_2022-03-01T00:15:01")).toEqual(minutes);
    expect(outcome(aggregates, "2022-03-01T00:15:00_2022-03-01T00:00:00")).toEqual({ status: 422, message: "`to` is before `from`" });
  });

  it("bounds the span by the granularity, on the whole query: 10 minutes, 31 days or 400 days", () => {
    const spanOf = (time_range: string, granularity?: string) => {
      const result = aggregatesQuerySchema.safeParse({ time_range, action: "VIEW", aggregates: "COUNT", granularity });
      return result.success ? "ok" : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    };
    expect(spanOf("2022-03-01T00:05:00_2022-03-01T00:15:00")).toBe("ok");
    expect(spanOf("2022-03-01T00:05:00_2022-03-01T00:16:00")).toEqual(["time_range: spans more than 10 minutes"]);
    expect(spanOf("2022-03-01T00:00:00_2022-04-01T00:00:00", "hour")).toBe("ok");
    expect(spanOf("2022-03-01T00:00:00_2022-04-01T01:00:00", "hour")).toEqual(["time_range: spans more than 31 days"]);
    expect(spanOf("2022-03-01T00:00:00_2023-04-05T00:00:00", "day")).toBe("ok");
    expect(spanOf("2022-03-01T00:00:00_2023-04-06T00:00:00", "day")).toEqual(["time_range: spans more than 400 days"]);
  });
});
