import { describe, expect, it } from "vitest";
import { call, callJson, tokenFor } from "../support/http.ts";

describe("HTTP conventions", () => {
  it("answers /health with ok and a request id", async () => {
    const { status, body, response } = await callJson("GET", "/health");
    expect(status).toBe(200);
    expect(body).toEqual({ status: "ok" });
    expect(response.headers.get("x-request-id")).toMatch(/.+/);
  });

  it("keeps a request id the client sent", async () => {
    const response = await call("GET", "/health", { headers: { "x-request-id": "client-abc" } });
    expect(response.headers.get("x-request-id")).toBe("client-abc");
  });

  it("answers an unknown path with a problem+json 404", async () => {
    const response = await call("GET", "/nowhere");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, code: "not_found", errors: [] });
    expect(body.requestId).toBe(response.headers.get("x-request-id"));
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const response = await call("DELETE", "/health");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toContain("GET");
  });

  it("refuses a body that is not JSON with 415", async () => {
    const response = await call("POST", "/admin/dead-letters/redrive", {
      body: "deadLetterIds=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      token: await tokenFor(1, ["admin"]),
    });
    expect(response.status).toBe(415);
  });

  it("refuses a body over 64 KiB with 413", async () => {
    const response = await call("POST", "/admin/dead-letters/redrive", {
      body: { deadLetterIds: ["x".repeat(70 * 1024)] },
      token: await tokenFor(1, ["admin"]),
    });
    expect(response.status).toBe(413);
  });

  it("refuses malformed JSON with 400 malformed_json", async () => {
    const { status, body } = await callJson("POST", "/admin/dead-letters/redrive", {
      body: "{not json",
      token: await tokenFor(1, ["admin"]),
    });
    expect(status).toBe(400);
    expect(body.code).toBe("malformed_json");
  });

  it("answers a forged token with 401 even on a public endpoint", async () => {
    const response = await call("GET", "/health", { token: "eyJhbGciOiJIUzI1NiJ9.e30.forged" });
    expect(response.status).toBe(401);
  });

  it("serves an OpenAPI 3.1 document and the docs page", async () => {
    const { status, body } = await callJson("GET", "/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths)).toContain("/admin/dead-letters");
    const docs = await call("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });
});

describe("Allezon debug bodies", () => {
  it("accepts an expected answer over 64 KiB on the query endpoints, and still refuses over 1 MiB", async () => {
    const expected = { cookie: "big", views: Array.from({ length: 200 }, (_, i) => ({ time: "2022-03-01T00:00:00.000Z", filler: "x".repeat(300), i })), buys: [] };
    const path = "/user_profiles/big?time_range=2022-03-01T00:00:00_2022-03-01T00:01:00";
    const accepted = await call("POST", path, { body: expected });
    expect(JSON.stringify(expected).length).toBeGreaterThan(64 * 1024);
    expect(accepted.status).toBe(200);
    const huge = await call("POST", path, { body: { filler: "x".repeat(1_100_000) } });
    expect(huge.status).toBe(413);
  });
});

describe("request ids", () => {
  it("are on every response, including pre-serialized ones, problems and socket refusals", async () => {
    const token = await tokenFor(1, ["admin"]);
    const now = Date.now();
    await call("POST", "/campaigns", {
      token,
      body: { campaignId: "4242", itemId: "1", prize: { value: "1.00", currency: "EUR" }, startDateTime: new Date(now - 60_000).toISOString(), endDateTime: new Date(now + 3_600_000).toISOString() },
    });
    const missing: string[] = [];
    for (const path of ["/records/top/10/4242", "/campaigns/4242", "/records/live/4242", "/campaigns/x", "/openapi.json", "/docs"]) {
      const response = await call("GET", path);
      await response.body?.cancel();
      if (!response.headers.get("x-request-id")) missing.push(path);
    }
    expect(missing).toEqual([]);
  });
});
