import { describe, expect, it } from "vitest";
import { rateLimits } from "../../workers/app.ts";
import { middlewareProblemResponses } from "../../workers/http/router.ts";
import { expectDeclaredResponse, openApiDocument, type Operation } from "../support/openapi-validate.ts";

/** Every operation of /openapi.json with its method and path. */
async function operations(): Promise<{ method: string; path: string; operation: Operation }[]> {
  const document = await openApiDocument();
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
  );
}

// Verb first, lowerCamelCase: `getTopRecords`, `createPurchase`, `pauseAdCampaign`.
const OPERATION_ID = /^(get|list|create|update|delete|set|end|stop|pause|resume|attach|detach|open|query|redrive|rotate|serve|share|use)[A-Z][A-Za-z]*$/;

describe("the OpenAPI document's conventions (so a new route that skips one fails here)", () => {
  it("gives every operation a unique verb-first operationId, a summary and its security", async () => {
    const seen = new Set<string>();
    for (const { method, path, operation } of await operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(operation.operationId, where).toMatch(OPERATION_ID);
      expect(seen.has(operation.operationId!), `${where}: operationId ${operation.operationId} is taken`).toBe(false);
      seen.add(operation.operationId!);
      expect(operation.summary, where).toBeTruthy();
      // `[]` for a public route, `bearer` otherwise: never left to a default.
      expect(Array.isArray(operation.security), `${where}: security`).toBe(true);
    }
  });

  it("declares a success for every operation, and the problems the middleware can answer with anywhere", async () => {
    for (const { method, path, operation } of await operations()) {
      const statuses = Object.keys(operation.responses);
      const where = `${method.toUpperCase()} ${path}`;
      expect(statuses.some((s) => s.startsWith("2") || s === "101"), `${where}: a 2xx or 101`).toBe(true);
      // Bodies are checked (413, 415) only on methods that carry one.
      const generic = Object.keys(middlewareProblemResponses).filter((s) => method !== "get" || (s !== "413" && s !== "415"));
      expect(statuses, where).toEqual(expect.arrayContaining(generic));
    }
  });

  it("declares 429 on every operation behind a rate limit", async () => {
    const all = await operations();
    for (const limit of rateLimits) {
      const limited = all.find((o) => o.path === limit.path && o.method === limit.method.toLowerCase());
      expect(limited, `${limit.method} ${limit.path}`).toBeDefined();
      expect(Object.keys(limited!.operation.responses), `${limit.method} ${limit.path}`).toContain("429");
    }
  });
});

describe("the response check every test's call goes through", () => {
  const json = (status: number, body: unknown, type = "application/json") =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
  const problem = { type: "t", title: "t", status: 404, detail: "d", code: "not_found", requestId: "r", errors: [] };

  it("accepts a declared status and body", async () => {
    await expect(expectDeclaredResponse("GET", "/health", json(200, { status: "ok" }))).resolves.toBeUndefined();
  });

  it("refuses a status the operation does not declare", async () => {
    await expect(expectDeclaredResponse("GET", "/health", json(418, { status: "ok" }))).rejects.toThrow(/declares only/);
  });

  it("refuses a body that does not match the schema, naming the field", async () => {
    await expect(expectDeclaredResponse("GET", "/health", json(200, { status: 1 }))).rejects.toThrow(/\/status/);
  });

  it("refuses a content type the status does not declare", async () => {
    await expect(expectDeclaredResponse("GET", "/health", json(404, problem))).rejects.toThrow(/content type "application\/json"/);
  });

  it("lets a request no operation matches be refused only with a 404 or 405 problem", async () => {
    await expect(expectDeclaredResponse("GET", "/nowhere", json(404, problem, "application/problem+json"))).resolves.toBeUndefined();
    await expect(expectDeclaredResponse("GET", "/nowhere", json(200, {}))).rejects.toThrow(/no operation/);
  });
});
