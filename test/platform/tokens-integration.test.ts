import { describe, expect, it } from "vitest";
import { call, callJson, tokenFor } from "../support/http.ts";
import { expiredToken, hs256, noneToken } from "./forged-tokens.ts";

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const status = async (path: string, token: string) => (await callJson("GET", path, { token })).status;

describe("bearer tokens", () => {
  it("accepts an HS256 token with sub, roles and exp", async () => {
    expect(await status("/admin/dead-letters", await hs256({ sub: "1", roles: ["admin"], exp: inAnHour() }))).toBe(200);
  });

  it("refuses a token without exp, even a correctly signed one", async () => {
    const { status: code, body } = await callJson("GET", "/admin/dead-letters", { token: await hs256({ sub: "1", roles: ["admin"] }) });
    expect(code).toBe(401);
    expect(body.detail).toMatch(/exp/);
  });

  it("refuses an expired token, an unsigned (alg none) one and one signed with another secret", async () => {
    expect(await status("/health", await expiredToken())).toBe(401);
    expect(await status("/health", noneToken())).toBe(401);
    const { sign } = await import("hono/jwt");
    expect(await status("/health", await sign({ sub: "1", roles: ["admin"], exp: inAnHour() }, "another-secret", "HS256"))).toBe(401);
  });

  it("needs sub to be a canonical user id for every role but service", async () => {
    for (const sub of ["042", "ann", "", "-1", "1.5", "99999999999999999999"]) {
      expect(await status("/health", await hs256({ sub, roles: ["citizen"], exp: inAnHour() })), sub).toBe(401);
    }
    expect(await status("/health", await hs256({ sub: "0", roles: ["citizen"], exp: inAnHour() }))).toBe(200);
    // A service token names an upstream system.
    expect(await status("/health", await tokenFor("shop-purchase-server", ["service"]))).toBe(200);
    // A service token that also claims a user role is a user token, so its sub must be a user id.
    expect(await status("/health", await tokenFor("shop-purchase-server", ["service", "citizen"]))).toBe(401);
  });

  it("knows the roles retailer and service, and refuses unknown roles", async () => {
    expect(await status("/health", await tokenFor("5", ["retailer"], { retailerId: "corner-cafe" }))).toBe(200);
    expect(await status("/health", await tokenFor("5", ["superuser"]))).toBe(401);
  });

  it("never lets a service token act as the user its sub happens to spell", async () => {
    expect(await status("/users/42/wallet", await tokenFor("42", ["service"]))).toBe(403);
    expect(await status("/users/42/wallet", await tokenFor("42", ["citizen"]))).toBe(200);
  });

  it("reads ?token= only on WebSocket routes", async () => {
    const admin = await tokenFor("1", ["admin"]);
    const inQuery = await callJson("GET", `/admin/dead-letters?token=${admin}`);
    expect(inQuery.status).toBe(401);
    expect(inQuery.body.detail).toMatch(/WebSocket/);
    // On a socket route the query token is read: a forged one is refused before the upgrade check.
    expect((await call("GET", `/records/live/1?token=${noneToken()}`)).status).toBe(401);
    const live = await call("GET", `/records/live/1?token=${admin}`);
    await live.body?.cancel();
    expect(live.status).not.toBe(401);
  });
});
