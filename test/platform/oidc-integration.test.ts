import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportSPKI } from "jose";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../workers/app.ts";
import { identityProvider, noneToken } from "./forged-tokens.ts";

const ISSUER = "https://id.example.test/realms/tally";
const AUDIENCE = "tally-api";
const admin = { sub: "1", roles: ["admin"] };
const good = { issuer: ISSUER, audience: AUDIENCE };

/** Sends a request to the app with OIDC vars set, as a deployment configured for an issuer would. */
async function callWith(vars: Record<string, string>, path: string, token: string): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`https://tally.test${path}`, { headers: { authorization: `Bearer ${token}` } }),
    { ...env, OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE, ...vars },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  await response.body?.cancel();
  return response;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("OpenID Connect tokens with an inline JWKS", async () => {
  const rsa = await identityProvider("RS256", "rsa-1");
  const ec = await identityProvider("ES256", "ec-1");
  const vars = { OIDC_JWKS: JSON.stringify({ keys: [rsa.jwk, ec.jwk] }) };
  const status = async (token: string, extra: Record<string, string> = {}) =>
    (await callWith({ ...vars, ...extra }, "/admin/dead-letters", token)).status;

  it("accepts RS256 and ES256 tokens of the issuer, with roles from the roles claim", async () => {
    expect(await status(await rsa.issue(admin, good))).toBe(200);
    expect(await status(await ec.issue(admin, good))).toBe(200);
    // aud may be a list that contains Tally's audience.
    expect(await status(await rsa.issue(admin, { ...good, audience: ["other-api", AUDIENCE] }))).toBe(200);
    // Without the admin role the same signed token is valid but not allowed.
    expect(await status(await rsa.issue({ sub: "1", roles: ["citizen"] }, good))).toBe(403);
  });

  it("reads roles from the claim OIDC_ROLES_CLAIM names and ignores names that are not Tally's", async () => {
    const token = await rsa.issue({ sub: "1", "https://tally.test/roles": ["offline_access", "admin"] }, good);
    expect(await status(token, { OIDC_ROLES_CLAIM: "https://tally.test/roles" })).toBe(200);
    expect(await status(token)).toBe(403);
  });

  it("refuses wrong issuer, wrong audience, expired, no exp, unknown kid and non-canonical sub", async () => {
    expect(await status(await rsa.issue(admin, { ...good, issuer: "https://evil.test" }))).toBe(401);
    expect(await status(await rsa.issue(admin, { ...good, audience: "someone-else" }))).toBe(401);
    expect(await status(await rsa.issue(admin, { issuer: ISSUER }))).toBe(401);
    expect(await status(await rsa.issue(admin, { ...good, exp: Math.floor(Date.now() / 1000) - 60 }))).toBe(401);
    expect(await status(await rsa.issue(admin, { ...good, exp: null }))).toBe(401);
    const stranger = await identityProvider("RS256", "not-published");
    expect(await status(await stranger.issue(admin, good))).toBe(401);
    expect(await status(await rsa.issue({ ...admin, sub: "007" }, good))).toBe(401);
  });

  it("refuses alg none and an HS256 token signed with the issuer's public key", async () => {
    const claims = { ...admin, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 };
    expect(await status(noneToken(claims))).toBe(401);
    const pem = await exportSPKI(rsa.publicKey);
    expect(await status(await sign(claims, pem, "HS256"))).toBe(401);
    expect(await status(await sign(claims, JSON.stringify(rsa.jwk), "HS256"))).toBe(401);
  });

  it("refuses RS256 tokens where no issuer is configured, and answers 503 when the issuer is half-configured", async () => {
    const token = await rsa.issue(admin, good);
    expect(await status(token, { OIDC_ISSUER: "" })).toBe(401);
    const half = await callWith({ OIDC_AUDIENCE: "" }, "/admin/dead-letters", token);
    expect(half.status).toBe(503);
  });
});

describe("OpenID Connect tokens with a JWKS fetched from OIDC_JWKS_URL", () => {
  /** Routes the Worker's outbound fetch of the JWKS URL to an in-test handler serving `keys()`. */
  function serveJwks(url: string, keys: () => unknown[]) {
    const fetched: string[] = [];
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      if (target !== url) return real(input, init);
      fetched.push(target);
      return Response.json({ keys: keys() });
    });
    return fetched;
  }

  it("fetches the key set once, keeps it, and fetches again for an unknown kid (key rotation)", async () => {
    // The clock stands still unless the test moves it: the refetch cooldown is then exact, not raced.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const url = "https://id.example.test/rotation/jwks";
    const first = await identityProvider("RS256", "2026-a");
    const second = await identityProvider("ES256", "2026-b");
    let published = [first.jwk];
    const fetched = serveJwks(url, () => published);
    const status = async (token: string) => (await callWith({ OIDC_JWKS_URL: url }, "/admin/dead-letters", token)).status;

    expect(await status(await first.issue(admin, good))).toBe(200);
    expect(await status(await first.issue(admin, good))).toBe(200);
    expect(fetched).toHaveLength(1);

    // The issuer rotates. Within a second of the last fetch a new kid fetches nothing (a flood of
    // made-up kids cannot flood the issuer) and is refused; once the second is over it fetches the
    // set again and the token is good.
    published = [first.jwk, second.jwk];
    expect(await status(await second.issue(admin, good))).toBe(401);
    expect(fetched).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1_001);
    expect(await status(await second.issue(admin, good))).toBe(200);
    expect(fetched).toHaveLength(2);
  });

  it("answers 503 when the issuer's keys cannot be fetched, and never fetches for a foreign issuer", async () => {
    const url = "https://id.example.test/down/jwks";
    const fetched: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      fetched.push(input instanceof Request ? input.url : String(input));
      return new Response("down", { status: 502 });
    });
    const idp = await identityProvider("RS256", "k");
    expect((await callWith({ OIDC_JWKS_URL: url }, "/health", await idp.issue(admin, { ...good, issuer: "https://evil.test" }))).status).toBe(401);
    expect(fetched).toEqual([]);
    expect((await callWith({ OIDC_JWKS_URL: url }, "/health", await idp.issue(admin, good))).status).toBe(503);
  });
});
