import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_DIFFERENCE_LOG } from "../../workers/user-tags/debug.ts";
import { callJson } from "../support/http.ts";

const RANGE = "time_range=2022-03-01T00:00:00_2022-03-01T00:01:00";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line console.warn was given, joined as the log would show it. */
function loggedLines(warn: ReturnType<typeof vi.spyOn>): string[] {
  return warn.mock.calls.map((args: unknown[]) => args.map(String).join(" "));
}

describe("debug bodies of the Allezon queries", () => {
  it("answers a body nested 200,000 arrays deep with the normal answer, logging one bounded line", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const depth = 200_000;
    const body = `{"cookie":"deep","views":${"[".repeat(depth)}${"]".repeat(depth)},"buys":[]}`;
    const { status, body: answer } = await callJson("POST", `/user_profiles/deep?${RANGE}`, { body });
    expect(status).toBe(200);
    expect(answer).toEqual({ cookie: "deep", views: [], buys: [] });
    const lines = loggedLines(warn);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("$.views.length");
    expect(lines[0]!.length).toBeLessThanOrEqual(MAX_DIFFERENCE_LOG);
  });

  it("compares bodies nested deep on both sides without running out of stack", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const depth = 100_000;
    const deep = `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    const body = `{"columns":${deep},"rows":${deep}}`;
    const { status } = await callJson("POST", `/aggregates?${RANGE.replace("00:01:00", "00:02:00")}&action=VIEW&aggregates=COUNT`, { body });
    expect(status).toBe(200);
    const lines = loggedLines(warn);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(MAX_DIFFERENCE_LOG);
  });

  it("logs a difference in a 900 KB body as one short line, never the bodies", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const long = "x".repeat(900_000);
    const { status, body } = await callJson("POST", `/user_profiles/big?${RANGE}`, { body: { cookie: long, views: [], buys: [] } });
    expect(status).toBe(200);
    expect(body.cookie).toBe("big");
    const lines = loggedLines(warn);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("$.cookie");
    expect(lines[0]!.length).toBeLessThanOrEqual(MAX_DIFFERENCE_LOG);
  });
});
