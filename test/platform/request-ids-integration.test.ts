import { afterEach, describe, expect, it, vi } from "vitest";
import { createCampaign } from "../campaigns/support.ts";
import { attach, createIncentive } from "../incentives/helpers.ts";
import { uniqueId } from "../support/ids.ts";
import { call, callJson, eventually, serviceToken } from "../support/http.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line written to the console's log channel so far, parsed where it is one of Tally's JSON lines. */
function jsonLines(spy: ReturnType<typeof vi.spyOn>): Record<string, unknown>[] {
  return spy.mock.calls.flatMap((args: unknown[]) => {
    try {
      const line = JSON.parse(String(args[0])) as unknown;
      return typeof line === "object" && line !== null ? [line as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

describe("request ids", () => {
  it("keep a well-formed x-request-id, in the header and the problem", async () => {
    const response = await callJson("GET", "/campaigns/not-a-number", { headers: { "x-request-id": "shop-7f3a_0001" } });
    expect(response.response.headers.get("x-request-id")).toBe("shop-7f3a_0001");
    expect(response.body.requestId).toBe("shop-7f3a_0001");
  });

  it("replace a malformed or overlong x-request-id with a new one", async () => {
    for (const sent of ["has spaces and \"quotes\"", "x".repeat(129), "semi;colon"]) {
      const response = await call("GET", "/health", { headers: { "x-request-id": sent } });
      const id = response.headers.get("x-request-id");
      expect(id).not.toBe(sent);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("take the trace id of a valid traceparent when no x-request-id is sent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traced = await call("GET", "/health", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(traced.headers.get("x-request-id")).toBe(traceId);
    // All-zero trace ids and version ff are invalid (W3C Trace Context): a new id instead.
    for (const bad of [`00-${"0".repeat(32)}-00f067aa0ba902b7-01`, `ff-${traceId}-00f067aa0ba902b7-01`, "00-short-01"]) {
      const response = await call("GET", "/health", { headers: { traceparent: bad } });
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    const both = await call("GET", "/health", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "mine-1" } });
    expect(both.headers.get("x-request-id")).toBe("mine-1");
  });

  it("follow one purchase from its answer through both purchase queues to the board's log line", async () => {
    const log = vi.spyOn(console, "log");
    const campaign = await createCampaign();
    const answer = await call("POST", "/purchases", {
      token: await serviceToken(),
      body: { userId: "77", itemId: campaign.itemId, amount: { value: "3.00", currency: "EUR" }, timestamp: new Date().toISOString() },
    });
    expect(answer.status).toBe(202);
    const requestId = answer.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    // purchase-events → qualified-purchase-events → CampaignBoard.apply, which logs the batch it applied.
    const line = await eventually(async () =>
      jsonLines(log).find((entry) => entry.msg === "purchases applied" && entry.campaignId === campaign.campaignId),
    );
    expect(line).toMatchObject({ level: "info", system: "campaigns", requestId, applied: 1 });
  });

  it("follow one incentive event through incentive-events to the award it earned, on incentive-awards", async () => {
    const log = vi.spyOn(console, "log");
    const employerId = uniqueId();
    const incentiveId = await createIncentive({ kind: "once", event: "traced-birth-reported" });
    const employerIncentiveId = await attach(employerId, "1", incentiveId, "A pillow");
    const answer = await call("POST", "/incentives/events", {
      token: await serviceToken(),
      headers: { "x-request-id": `incentive-trace-${employerId}` },
      body: { userId: uniqueId(), employerId, event: "traced-birth-reported", timestamp: new Date().toISOString() },
    });
    expect(answer.status).toBe(202);
    expect(answer.headers.get("x-request-id")).toBe(`incentive-trace-${employerId}`);
    // incentive-events → the user's object → the award on incentive-awards, whose consumer logs it fulfilled.
    const line = await eventually(async () =>
      jsonLines(log).find((entry) => entry.msg === "incentive award fulfilled" && entry.employerIncentiveId === employerIncentiveId),
    );
    expect(line).toMatchObject({ level: "info", system: "incentives", requestId: `incentive-trace-${employerId}` });
  });
});
