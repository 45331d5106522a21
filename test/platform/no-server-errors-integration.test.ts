import { describe, expect, it } from "vitest";
import { call, callJson, tokenFor } from "../support/http.ts";
import { expiredToken, noneToken, wrongIssuerToken } from "./forged-tokens.ts";

interface Operation {
  security?: unknown[];
}
type Paths = Record<string, Record<string, Operation>>;

const PARAM_VALUES = ["1", "x", "-1", "99999999999999999999", "%00", "0"];
const BODIES: unknown[] = [undefined, {}, [], null, "text", { a: 1 }, { value: "1", currency: "EUR", userId: {}, time: 5 }];
const QUERY = "?time_range=2022-03-01T00:00:00_2022-03-01T00:05:00&at=nope&limit=abc&n=0&zip=";

async function operations(): Promise<{ method: string; template: string; needsToken: boolean }[]> {
  const { body } = await callJson<{ paths: Paths }>("GET", "/openapi.json");
  return Object.entries(body.paths).flatMap(([template, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      needsToken: (operation.security ?? []).length > 0,
    })),
  );
}

const bodyFor = (payload: unknown) => (payload === undefined ? {} : { body: typeof payload === "string" ? JSON.stringify(payload) : payload });

describe("whatever a client sends", () => {
  it("no documented operation answers 5xx to malformed input", async () => {
    // Every role at once, so role checks let the junk through to validation and handlers.
    const token = await tokenFor("1", ["admin", "officer", "citizen", "employer", "retailer", "service"], { employerId: "1", retailerId: "1" });
    const failures: string[] = [];
    for (const { method, template } of await operations()) {
      for (const value of PARAM_VALUES) {
        const path = template.replace(/\{[^}]+\}/g, value);
        for (const payload of method === "GET" ? [undefined] : BODIES) {
          const response = await call(method, `${path}${QUERY}`, { token, ...bodyFor(payload) });
          await response.body?.cancel();
          if (response.status >= 500) failures.push(`${method} ${path} ${JSON.stringify(payload)} → ${response.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("every operation answers 401 to an expired, an unsigned (alg none) or a foreign issuer's token", async () => {
    const tokens = { expired: await expiredToken(), none: noneToken(), "wrong issuer": await wrongIssuerToken() };
    const failures: string[] = [];
    for (const { method, template } of await operations()) {
      const path = template.replace(/\{[^}]+\}/g, "1");
      for (const [kind, token] of Object.entries(tokens)) {
        for (const payload of method === "GET" ? [undefined] : [{}]) {
          const response = await call(method, `${path}${QUERY}`, { token, ...bodyFor(payload) });
          await response.body?.cancel();
          if (response.status !== 401) failures.push(`${method} ${path} with ${kind} token → ${response.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("without a token, no operation answers 5xx and none that declares bearer auth answers 2xx", async () => {
    const failures: string[] = [];
    const all = await operations();
    expect(all.some((operation) => operation.needsToken)).toBe(true);
    for (const { method, template, needsToken } of all) {
      for (const value of ["1", "x"]) {
        const path = template.replace(/\{[^}]+\}/g, value);
        for (const payload of method === "GET" ? [undefined] : [{}, { userId: "1", value: "1" }]) {
          const response = await call(method, `${path}${QUERY}`, bodyFor(payload));
          await response.body?.cancel();
          if (response.status >= 500 || (needsToken && response.status < 300)) {
            failures.push(`${method} ${path} ${JSON.stringify(payload)} without token → ${response.status}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
