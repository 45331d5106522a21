import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../workers/app.ts";
import wranglerToml from "../../wrangler.toml?raw";
import { call, tokenFor } from "../support/http.ts";

/** Sends a request to the app with some vars changed, as a deployment with that configuration would. */
async function callWith(vars: Record<string, string>, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("security headers", () => {
  it("are on every response: JSON, problems, preflight refusals and the docs page", async () => {
    for (const [method, path] of [["GET", "/health"], ["GET", "/nowhere"], ["GET", "/openapi.json"], ["DELETE", "/health"], ["GET", "/docs"], ["GET", "/records/live/1"]] as const) {
      const response = await call(method, path);
      await response.body?.cancel();
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
    }
  });

  it("give HTML pages a content security policy with 'self' sources only", async () => {
    const docs = await call("GET", "/docs");
    await docs.body?.cancel();
    const policy = docs.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'self'");
    const sources = policy.split(";").flatMap((directive) => directive.trim().split(/\s+/).slice(1));
    expect(sources.every((source) => source === "'self'")).toBe(true);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    new Request("https://tally.test/campaigns", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  it("is same-origin only by default: no allow headers, no 204 preflight", async () => {
    const response = await call("OPTIONS", "/campaigns", { headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(response.status).not.toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const get = await call("GET", "/health", { headers: { origin: "https://app.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers origins listed in CORS_ORIGINS with allow headers and a 204 preflight, and only them", async () => {
    const vars = { CORS_ORIGINS: "https://app.example, https://admin.example" };
    const ok = await callWith(vars, preflight("https://admin.example"));
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://admin.example");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(ok.headers.get("x-content-type-options")).toBe("nosniff");

    const get = await callWith(vars, new Request("https://tally.test/health", { headers: { origin: "https://app.example" } }));
    expect(get.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(get.headers.get("access-control-expose-headers")).toContain("x-request-id");

    const other = await callWith(vars, preflight("https://evil.example"));
    expect(other.status).not.toBe(204);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("rate limits per token sub", () => {
  /** Sends up to `max` requests; returns the index of the first 429 (or -1) and that response. */
  async function firstRefusal(max: number, send: (i: number) => Promise<Response>) {
    for (let i = 0; i < max; i += 1) {
      const response = await send(i);
      if (response.status === 429) return { index: i, response };
      await response.body?.cancel();
    }
    return { index: -1, response: undefined };
  }

  // Windows are whole minutes on the clock: `limit` requests may straddle two windows, so a refusal
  // is certain within 2 × limit + 1 requests and impossible within the first `limit`.
  it("POST /connections: 429 problem+json with Retry-After once a citizen passes RATE_CONNECTIONS_PER_MINUTE", async () => {
    const limit = Number(env.RATE_CONNECTIONS_PER_MINUTE);
    const token = await tokenFor("880001", ["citizen"]);
    const { index, response } = await firstRefusal(2 * limit + 1, () => call("POST", "/connections", { token, body: {} }));
    expect(index).toBeGreaterThanOrEqual(limit);
    expect(response?.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(response?.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await response?.json()) as { code: string; status: number; detail: string };
    expect(body).toMatchObject({ code: "rate_limited", status: 429 });
    expect(body.detail).toContain(String(limit));
    // Another caller is not affected.
    const other = await call("POST", "/connections", { token: await tokenFor("880002", ["citizen"]), body: {} });
    expect(other.status).toBe(400);
  });

  it("POST /redemptions and POST /donations share RATE_REWARDS_PER_MINUTE", async () => {
    const limit = Number(env.RATE_REWARDS_PER_MINUTE);
    const token = await tokenFor("880003", ["citizen"]);
    const { index } = await firstRefusal(2 * limit + 1, (i) => call("POST", i % 2 ? "/donations" : "/redemptions", { token, body: {} }));
    expect(index).toBeGreaterThanOrEqual(limit);
  });

  it("GET /officers/nearby: RATE_NEARBY_PER_MINUTE", async () => {
    const limit = Number(env.RATE_NEARBY_PER_MINUTE);
    const token = await tokenFor("880004", ["citizen"]);
    const { index } = await firstRefusal(2 * limit + 1, () => call("GET", "/officers/nearby", { token }));
    expect(index).toBeGreaterThanOrEqual(limit);
  });

  it("each var states the limit its [[ratelimits]] binding enforces", () => {
    const limits = Object.fromEntries(
      [...wranglerToml.matchAll(/name = "(\w+)_RATE_LIMIT"[^[]*?limit = (\d+)/g)].map((match) => [match[1], match[2]]),
    );
    expect(limits).toEqual({
      NEARBY: env.RATE_NEARBY_PER_MINUTE,
      CONNECTIONS: env.RATE_CONNECTIONS_PER_MINUTE,
      REWARDS: env.RATE_REWARDS_PER_MINUTE,
      PUBLIC_PROFILES: env.RATE_PUBLIC_PROFILES_PER_MINUTE,
    });
  });
});
