import { describe, expect, it } from "vitest";
import { call, callJson, tokenFor } from "../support/http.ts";

type Paths = Record<string, Record<string, unknown>>;

const PARAM_VALUES = ["1", "x", "-1", "99999999999999999999", "%00", "0"];
const BODIES: unknown[] = [undefined, {}, [], null, "text", { a: 1 }, { value: "1", currency: "EUR", userId: {}, time: 5 }];

describe("whatever a client sends", () => {
  it("no documented operation answers 5xx to malformed input", async () => {
    const { body } = await callJson<{ paths: Paths }>("GET", "/openapi.json");
    // Every role at once, so role checks let the junk through to validation and handlers.
    const token = await tokenFor("1", ["admin", "officer", "citizen", "employer"], { employerId: "1" });
    const failures: string[] = [];
    for (const [template, operations] of Object.entries(body.paths)) {
      for (const method of Object.keys(operations)) {
        for (const value of PARAM_VALUES) {
          const path = template.replace(/\{[^}]+\}/g, value);
          for (const payload of method === "get" ? [undefined] : BODIES) {
            const query = "?time_range=2022-03-01T00:00:00_2022-03-01T00:05:00&at=nope&limit=abc&n=0&zip=";
            const response = await call(method.toUpperCase(), `${path}${query}`, {
              token,
              ...(payload === undefined ? {} : { body: typeof payload === "string" ? JSON.stringify(payload) : payload }),
            });
            await response.body?.cancel();
            if (response.status >= 500) failures.push(`${method.toUpperCase()} ${path} ${JSON.stringify(payload)} → ${response.status}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
