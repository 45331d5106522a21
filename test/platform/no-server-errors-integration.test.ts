import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callJson, tokenFor } from "../support/http.ts";
import { expiredToken, noneToken, wrongIssuerToken } from "./forged-tokens.ts";

interface Operation {
  security?: unknown[];
  responses?: Record<string, unknown>;
}
type Paths = Record<string, Record<string, Operation>>;

const PARAM_VALUES = ["1", "x", "-1", "99999999999999999999", "%00", "0"];
const BODIES: unknown[] = [undefined, {}, [], null, "text", { a: 1 }, { value: "1", currency: "EUR", userId: {}, time: 5 }];
const QUERY = "?time_range=2022-03-01T00:00:00_2022-03-01T00:05:00&at=nope&limit=abc&n=0&zip=";

async function operations(): Promise<{ method: string; template: string; needsToken: boolean; socket: boolean }[]> {
  const { body } = await callJson<{ paths: Paths }>("GET", "/openapi.json");
  return Object.entries(body.paths).flatMap(([template, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      needsToken: (operation.security ?? []).length > 0,
      socket: "101" in (operation.responses ?? {}),
    })),
  );
}

/**
 * What a hostile client adds: every internal header an object or the Worker reads (`x-tally-*`), a
 * forged client address, and a forged Host. None may change an answer or fail the server.
 */
const HOSTILE_HEADERS: Record<string, string> = {
  "x-tally-officer-id": "2",
  "x-tally-citizen-id": "3",
  "x-tally-user-id": "4",
  "x-tally-zip": "99999",
  "x-tally-client-address": "203.0.113.250",
  "cf-connecting-ip": "198.51.100.250",
  "x-forwarded-for": "127.0.0.1",
  "x-real-ip": "127.0.0.1",
};

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

  it("hostile headers (x-tally-*, a forged cf-connecting-ip) on every route and socket: no 5xx, and reads answer as without them", async () => {
    const failures: string[] = [];
    for (const role of ["citizen", "officer", "admin"]) {
      const token = await tokenFor("1", [role]);
      for (const { method, template, socket } of await operations()) {
        const path = template.replace(/\{[^}]+\}/g, "1");
        const headers = socket ? { ...HOSTILE_HEADERS, upgrade: "websocket" } : HOSTILE_HEADERS;
        const hostile = socket
          ? await exports.default.fetch(new Request(`https://tally.test${path}?token=${token}`, { headers }))
          : await call(method, path, { token, headers, ...(method === "GET" ? {} : { body: {} }) });
        if (hostile.webSocket) {
          hostile.webSocket.accept();
          hostile.webSocket.close(1000, "done");
        } else await hostile.body?.cancel();
        if (hostile.status >= 500) failures.push(`${role} ${method} ${path} with hostile headers → ${hostile.status}`);
        if (method !== "GET" || socket) continue;
        const plain = await call(method, path, { token });
        await plain.body?.cancel();
        if (plain.status !== hostile.status) failures.push(`${role} ${method} ${path}: ${plain.status} plain, ${hostile.status} with hostile headers`);
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
