import { describe, expect, it } from "vitest";
import { createCampaign as createAdCampaign } from "../ads/helpers.ts";
import { call, callJson, serviceToken, tokenFor } from "../support/http.ts";

interface Operation {
  method: string;
  path: string;
  security?: unknown[];
  requestBody?: unknown;
}

/** Every operation in the published OpenAPI document. */
async function operations(): Promise<Operation[]> {
  const { body } = await callJson<{ paths: Record<string, Record<string, Omit<Operation, "method" | "path">>> }>("GET", "/openapi.json");
  return Object.entries(body.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({ ...operation, method: method.toUpperCase(), path })),
  );
}

// Any signed-in caller may ask; whether they may see the answer depends on the stored request.
const ANY_SIGNED_IN = new Set(["GET /connections/{requestId}"]);

describe("authorization comes before validation", () => {
  it("answers every operation that needs a token 401 without one and 403 with one lacking the role, whatever the input", async () => {
    const secured = (await operations()).filter((operation) => operation.security !== undefined && operation.security.length > 0);
    const names = secured.map((operation) => `${operation.method} ${operation.path}`);
    // The walk is only worth something if it reaches the operations that take bodies.
    expect(names).toEqual(expect.arrayContaining(["POST /campaigns", "POST /ads/campaigns", "POST /purchases", "POST /incentives/events"]));
    const roleless = await tokenFor("424242", []);
    for (const operation of secured) {
      const name = `${operation.method} ${operation.path}`;
      // Path ids that no schema accepts, and a body that is not even an object.
      const url = `${operation.path.replace(/\{[^}]+\}/g, "not-an-id!")}?limit=-1`;
      const body = operation.requestBody === undefined ? undefined : [];
      const anonymous = await callJson(operation.method, url, { body });
      expect(anonymous.status, name).toBe(401);
      expect(anonymous.body.code, name).toBe("unauthorized");
      if (ANY_SIGNED_IN.has(name)) continue;
      const lacking = await callJson(operation.method, url, { body, token: roleless });
      expect(lacking.status, name).toBe(403);
      expect(lacking.body.code, name).toBe("forbidden");
    }
  });
});

describe("event ingest needs a service or admin token", () => {
  const now = () => new Date().toISOString();

  it("refuses anonymous and citizen callers, and accepts a service", async () => {
    const citizen = await tokenFor("42", ["citizen"]);
    const { adCampaignId } = await createAdCampaign();
    const ingest: Array<[string, Record<string, unknown>]> = [
      ["/purchases", { userId: "42", itemId: "7", amount: { value: "1.00", currency: "EUR" }, timestamp: now() }],
      ["/ads/events", { type: "impression", adCampaignId, userId: "42", timestamp: now() }],
      ["/incentives/events", { userId: "42", employerId: "7", event: "data-logged", timestamp: now() }],
    ];
    for (const [path, body] of ingest) {
      expect((await call("POST", path, { body })).status, path).toBe(401);
      expect((await call("POST", path, { body, token: citizen })).status, path).toBe(403);
      expect((await call("POST", path, { body, token: await serviceToken() })).status, path).toBe(202);
    }
  });
});
