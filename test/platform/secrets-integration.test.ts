import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { userStub } from "../../durable-objects/user/stub.ts";
import { app } from "../../workers/app.ts";
import { EXAMPLE_SECRETS } from "../../workers/http/secrets.ts";
import devVarsExample from "../../.dev.vars.example?raw";
import { adminToken, callJson } from "../support/http.ts";

/** Sends a request to the app with some bindings changed, as a misconfigured deployment would. */
async function callWith(vars: Record<string, string | undefined>, url: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (init.body) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(url, { ...init, headers }), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("missing or public secrets", () => {
  it("JWT_SECRET unset: a request with a token is 503 naming it; public requests without one still work", async () => {
    const token = await sign({ sub: "1", roles: ["admin"], exp: inAnHour() }, env.JWT_SECRET, "HS256");
    const refused = await callWith({ JWT_SECRET: undefined }, "https://tally.test/admin/dead-letters", { token });
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toBe("server misconfigured: JWT_SECRET is not set");
    expect((await callWith({ JWT_SECRET: undefined }, "https://tally.test/health")).status).toBe(200);
  });

  it("VOUCHER_SECRET unset: a redemption is 503 before any point is debited", async () => {
    const userId = "990001";
    expect((await userStub(env, userId).credit({ ref: "test-funding:secrets", reason: "test", points: 100 })).ok).toBe(true);
    const offer = await callJson("POST", "/offers", { token: await adminToken(), body: { retailer: "Cafe", title: "Tea", pointsCost: 10 } });
    expect(offer.status).toBe(201);
    const citizen = await sign({ sub: userId, roles: ["citizen"], exp: inAnHour() }, env.JWT_SECRET, "HS256");
    const body = JSON.stringify({ offerId: offer.body.offer.offerId, redemptionId: "secretless-1" });
    const refused = await callWith({ VOUCHER_SECRET: undefined }, "https://tally.test/redemptions", { method: "POST", body, token: citizen });
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toContain("VOUCHER_SECRET");
    expect((await userStub(env, userId).walletView()).points).toBe(100);
    expect((await callWith({ VOUCHER_SECRET: undefined }, "https://tally.test/vouchers/abc.def")).status).toBe(503);
  });

  it("the example secrets of .dev.vars.example work in local mode only, whatever Host the client sends", async () => {
    for (const [name, value] of Object.entries(EXAMPLE_SECRETS)) expect(devVarsExample).toContain(`${name}="${value}"`);
    expect(devVarsExample).toContain('LOCAL_MODE="true"');
    const deployed = { JWT_SECRET: EXAMPLE_SECRETS.JWT_SECRET, VOUCHER_SECRET: EXAMPLE_SECRETS.VOUCHER_SECRET, LOCAL_MODE: undefined };
    const local = { ...deployed, LOCAL_MODE: "true" };
    const token = await sign({ sub: "1", roles: ["admin"], exp: inAnHour() }, EXAMPLE_SECRETS.JWT_SECRET, "HS256");
    const remote = await callWith(deployed, "https://tally.example.com/admin/dead-letters", { token });
    expect(remote.status).toBe(503);
    expect(remote.body.detail).toMatch(/JWT_SECRET is the public example value/);
    expect((await callWith(deployed, "https://tally.example.com/vouchers/abc.def")).status).toBe(503);
    // A deployed Worker reached with a forged Host (or under a name that resolves to 127.0.0.1) still refuses them.
    expect((await callWith(deployed, "http://localhost:8787/admin/dead-letters", { token })).status).toBe(503);
    expect((await callWith(deployed, "http://127.0.0.1:8787/vouchers/abc.def", { headers: { host: "localhost" } })).status).toBe(503);
    expect((await callWith(local, "http://localhost:8787/admin/dead-letters", { token })).status).toBe(200);
    expect((await callWith(local, "https://tally.example.com/vouchers/abc.def")).status).toBe(200);
  });
});
