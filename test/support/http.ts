import { sign } from "hono/jwt";
import { env, exports } from "cloudflare:workers";
import { expectDeclaredResponse } from "./openapi-validate.ts";

/** Mints an HS256 token the app accepts, as `npm run token` does. */
export async function tokenFor(sub: string | number, roles: string[] = [], extra: Record<string, unknown> = {}): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return sign({ sub: String(sub), roles, exp, ...extra }, env.JWT_SECRET, "HS256");
}

export const adminToken = () => tokenFor("1", ["admin"]);

/** A trusted backend's token: the role event ingest (purchases, ad events, incentive events) needs. */
export const serviceToken = () => tokenFor("shop", ["service"]);

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Sends a request through the Worker's own fetch handler, as a client would, and fails unless
 * /openapi.json declares the answer (status, content type and body; see `expectDeclaredResponse`).
 */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await exports.default.fetch(new Request(`https://tally.test${path}`, { method, headers, body }));
  await expectDeclaredResponse(method, path, response);
  return response;
}

/** The same as `call`, returning the status and the parsed JSON body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the fields they assert on; a test that wants checking passes T
export async function callJson<T = any>(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: T; response: Response }> {
  const response = await call(method, path, options);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, response };
}

/** Polls `check` until it returns a value other than undefined, for effects that go through queues. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}
