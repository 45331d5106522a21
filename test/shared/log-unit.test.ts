import { afterEach, describe, expect, it, vi } from "vitest";
import { log, loggerFor } from "../../shared/log.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("log", () => {
  it("writes one JSON object per line, on the console channel of its level", () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    log("info", "purchases applied", { requestId: "r-1", system: "campaigns", campaignId: "7" });
    loggerFor({ system: "ads", requestId: "r-2" }).warn("status sync failed", { adCampaignId: "3" });
    log("error", "unhandled error", { error: new Error("boom", { cause: new Error("D1 down") }) });
    expect(info.mock.calls).toHaveLength(1);
    expect(JSON.parse(String(info.mock.calls[0]![0]))).toEqual({ level: "info", msg: "purchases applied", requestId: "r-1", system: "campaigns", campaignId: "7" });
    expect(JSON.parse(String(warn.mock.calls[0]![0]))).toEqual({ level: "warn", msg: "status sync failed", requestId: "r-2", system: "ads", adCampaignId: "3" });
    const failure = JSON.parse(String(error.mock.calls[0]![0]));
    expect(failure).toMatchObject({ level: "error", msg: "unhandled error", requestId: null, error: { name: "Error", message: "boom", cause: { message: "D1 down" } } });
    for (const spy of [info, warn, error]) for (const [line] of spy.mock.calls) expect(String(line)).not.toContain("\n");
  });

  it("never throws on a field it cannot serialise", () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => log("info", "odd fields", { cyclic, big: 10n })).not.toThrow();
    expect(JSON.parse(String(info.mock.calls[0]![0]))).toMatchObject({ level: "info", msg: "odd fields", requestId: null });
  });
});
