import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, vi } from "vitest";
import type { WebhookDeliveryMessage } from "../../shared/messages.ts";
import { app } from "../../workers/app.ts";
import { adminToken, callJson } from "../support/http.ts";

export interface Received {
  url: string;
  headers: Headers;
  body: string;
  event: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  receivedAt: number;
}

/**
 * An HTTP receiver inside the test: the Worker's outbound `fetch` (which runs in this isolate, for
 * the queue consumers and Durable Objects too) is routed here for URLs under `https://<host>/`;
 * every other request goes out unchanged. `failNext(n)` answers the next n deliveries with 500.
 */
export class TestReceiver {
  readonly received: Received[] = [];
  private failures = 0;

  constructor(readonly host: string) {}

  get url(): string {
    return `https://${this.host}/hooks`;
  }

  failNext(count: number): void {
    this.failures = count;
  }

  async handle(request: Request): Promise<Response> {
    const body = await request.text();
    this.received.push({ url: request.url, headers: request.headers, body, event: JSON.parse(body) as Received["event"], receivedAt: Date.now() });
    if (this.failures > 0) {
      this.failures--;
      return new Response("down for a moment", { status: 500 });
    }
    return new Response("ok");
  }

  /** The deliveries of events of `type` seen so far. */
  ofType(type: string): Received[] {
    return this.received.filter((delivery) => delivery.event.type === type);
  }
}

/** Routes outbound fetches of these receivers' hosts to them, until the test ends. */
export function routeOutboundTo(...receivers: TestReceiver[]): void {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const receiver = receivers.find((candidate) => new URL(request.url).host === candidate.host);
    return receiver ? receiver.handle(request) : realFetch(input, init);
  });
}

let hostSeq = 0;

/** A receiver on a host of its own (so tests never see each other's deliveries), registered as a webhook for `events`. */
export async function registeredReceiver(events: string[]): Promise<{ receiver: TestReceiver; webhookId: string; secret: string }> {
  const receiver = new TestReceiver(`receiver-${++hostSeq}-${crypto.randomUUID().slice(0, 8)}.test`);
  routeOutboundTo(receiver);
  const { status, body } = await callJson("POST", "/admin/webhooks", { token: await adminToken(), body: { url: receiver.url, events } });
  expect(status).toBe(201);
  registered.push(body.webhook.webhookId as string);
  return { receiver, webhookId: body.webhook.webhookId as string, secret: body.secret as string };
}

const registered: string[] = [];

// Each test's webhooks are removed after it, so a later test's events never reach an earlier receiver.
afterEach(async () => {
  const token = await adminToken();
  for (const webhookId of registered.splice(0)) await callJson("DELETE", `/admin/webhooks/${webhookId}`, { token });
  vi.restoreAllMocks();
});

/** The hex HMAC-SHA256 of `text` under `secret`, computed here independently of the module under test. */
export async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The page of a webhook's delivery attempts (newest first). */
export async function deliveriesOf(webhookId: string, query = ""): Promise<Array<Record<string, unknown>>> {
  const { status, body } = await callJson("GET", `/admin/webhooks/${webhookId}/deliveries${query}`, { token: await adminToken() });
  expect(status).toBe(200);
  return body.deliveries;
}

/**
 * The test env with its real `WEBHOOK_DELIVERIES` queue wrapped: every message sent is recorded
 * (so a test can assert what was published, at once, instead of waiting to see whether something
 * arrives) and then sent on the real queue. `failSends` fails that many `sendBatch` calls first,
 * as a queue outage would.
 */
export function recordingEnv(options: { failSends?: number } = {}): { env: Env; sent: WebhookDeliveryMessage[] } {
  const real = env.WEBHOOK_DELIVERIES;
  const sent: WebhookDeliveryMessage[] = [];
  let failures = options.failSends ?? 0;
  const wrapped: Queue = {
    send: async (body, sendOptions) => {
      if (failures > 0 && failures--) throw new Error("queue unavailable (test)");
      sent.push(body as WebhookDeliveryMessage);
      return real.send(body, sendOptions);
    },
    sendBatch: async (messages, sendOptions) => {
      if (failures > 0 && failures--) throw new Error("queue unavailable (test)");
      const list = [...messages];
      sent.push(...list.map((message) => message.body as WebhookDeliveryMessage));
      return real.sendBatch(list, sendOptions);
    },
  } as Queue;
  return { env: { ...env, WEBHOOK_DELIVERIES: wrapped } as Env, sent };
}

/** Calls the app in this isolate with `withEnv` (e.g. a recording env or a var unset), as the Worker would. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answer of many routes by path; callers name T where the shape matters.
export async function callApp<T = any>(withEnv: Env, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const headers = new Headers();
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const request = new Request(`https://tally.test${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const response = await app.fetch(request, withEnv, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
