import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// The pages are not API operations (no OpenAPI entry), so these go to the Worker directly, not via `call`.
const get = (path: string) => exports.default.fetch(new Request(`https://tally.test${path}`, { redirect: "manual" }));

describe("pages served from the static assets", () => {
  it("redirects / to the home page", async () => {
    const response = await get("/");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/ui/");
  });

  it("answers every /ui/ path with the app, under a content security policy of 'self' only", async () => {
    for (const path of ["/ui/", "/ui/campaigns/1", "/ui/ads/1", "/ui/analytics", "/ui/employers/7", "/ui/connections", "/ui/status"]) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      expect(response.headers.get("x-request-id")).toBeTruthy();
      expect(response.headers.get("content-security-policy")).toBe("default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'");
      const html = await response.text();
      expect(html).toContain('<script type="module" src="/ui/app.js"></script>');
      // Nothing from another host: every src and href is a path on this origin.
      expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).every((url) => url!.startsWith("/"))).toBe(true);
    }
  });

  it("serves the bundled script and styles with nosniff", async () => {
    const script = await get("/ui/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect(script.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await get("/ui/app.css")).status).toBe(200);
  });

  it("renders /docs with Swagger UI's files served by Tally itself", async () => {
    const page = await get("/docs");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('src="/docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/https?:\/\//);
    expect((await get("/docs/swagger-ui-bundle.js")).status).toBe(200);
    expect((await get("/docs/swagger-ui.css")).status).toBe(200);
  });

  it("keeps API routes and 404s as they were", async () => {
    expect((await get("/health")).status).toBe(200);
    const missing = await get("/no-such-route");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/application\/problem\+json/);
  });
});
