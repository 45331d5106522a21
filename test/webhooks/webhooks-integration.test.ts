import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { WebhookDeliveryMessage } from "../../shared/messages.ts";
import { verifyWebhookSignature } from "../../shared/webhook-signature.ts";
import { nextRetrySeconds } from "../../workers/webhooks/deliveries.ts";
import { MAX_WEBHOOKS } from "../../workers/webhooks/routes.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { deliver } from "../support/queues.ts";
import { deliveriesOf, hmacHex, registeredReceiver } from "./support.ts";

const HOUR_MS = 3_600_000;

let seq = 0;

function deliveryOf(webhookId: string, queuedAt = Date.now()): WebhookDeliveryMessage {
  const requestId = `hook-req-${++seq}`;
  return {
    kind: "webhook-delivery",
    webhookId,
    event: { id: `connection.established:${requestId}`, type: "connection.established", createdAt: new Date(queuedAt).toISOString(), data: { requestId } },
    queuedAt,
  };
}

describe("webhook registration", () => {
  it("shows the secret once, lists webhooks without it, replays a resent id and refuses other terms", async () => {
    const token = await adminToken();
    const body = { webhookId: "hook-reg-1", url: "https://hooks.example.com/tally", events: ["campaign.settled", "connection.established", "campaign.settled"] };
    const created = await callJson("POST", "/admin/webhooks", { token, body });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      webhook: { webhookId: "hook-reg-1", url: body.url, events: ["connection.established", "campaign.settled"], createdAt: expect.stringMatching(/Z$/) },
      secret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/),
    });
    const replay = await callJson("POST", "/admin/webhooks", { token, body });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(created.body);
    const other = await callJson("POST", "/admin/webhooks", { token, body: { ...body, url: "https://elsewhere.example.com/" } });
    expect(other.status).toBe(409);

    const listed = await callJson("GET", "/admin/webhooks", { token });
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toContainEqual(created.body.webhook);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);

    const removed = await callJson("DELETE", "/admin/webhooks/hook-reg-1", { token });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ webhook: created.body.webhook });
    expect((await callJson("GET", "/admin/webhooks/hook-reg-1/deliveries", { token })).status).toBe(404);
    expect((await callJson("DELETE", "/admin/webhooks/hook-reg-1", { token })).status).toBe(404);
    expect((await callJson("GET", "/admin/webhooks", { token })).body.webhooks).not.toContainEqual(created.body.webhook);
  });

  it("refuses URLs that are not https (plain http on localhost aside), unknown events, and callers who are not admins", async () => {
    const token = await adminToken();
    const register = (body: unknown, as = token) => callJson("POST", "/admin/webhooks", { token: as, body });
    for (const url of ["http://hooks.example.com/", "ftp://hooks.example.com/", "not a url", "https://user:pw@hooks.example.com/"]) {
      const refused = await register({ url, events: ["campaign.settled"] });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual(["url"]);
    }
    for (const url of ["http://localhost:8788/", "http://127.0.0.1:8788/hooks"]) {
      const local = await register({ url, events: ["campaign.settled"] });
      expect(local.status, url).toBe(201);
      await callJson("DELETE", `/admin/webhooks/${local.body.webhook.webhookId}`, { token });
    }
    const unknown = await register({ url: "https://hooks.example.com/", events: ["campaign.won"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe("events.0");
    expect((await register({ url: "https://hooks.example.com/", events: [] })).status).toBe(400);

    const citizen = await tokenFor("77", ["citizen"]);
    expect((await register({ url: "https://hooks.example.com/", events: ["campaign.settled"] }, citizen)).status).toBe(403);
    expect((await callJson("GET", "/admin/webhooks", { token: citizen })).status).toBe(403);
    expect((await callJson("GET", "/admin/webhooks")).status).toBe(401);
    expect((await callJson("GET", "/admin/webhooks/x/deliveries?cursor=abc", { token })).status).toBe(400);
  });

  it(`keeps at most ${MAX_WEBHOOKS} webhooks`, async () => {
    const token = await adminToken();
    const before = (await callJson("GET", "/admin/webhooks", { token })).body.webhooks.length as number;
    const ids: string[] = [];
    for (let i = before; i < MAX_WEBHOOKS; i++) {
      const { status, body } = await callJson("POST", "/admin/webhooks", { token, body: { url: `https://hooks.example.com/${i}`, events: ["campaign.settled"] } });
      expect(status).toBe(201);
      ids.push(body.webhook.webhookId);
    }
    const over = await callJson("POST", "/admin/webhooks", { token, body: { url: "https://hooks.example.com/over", events: ["campaign.settled"] } });
    expect(over.status).toBe(409);
    // A resend of one already registered still answers as the first time.
    const lastId = ids.at(-1)!;
    const replay = await callJson("POST", "/admin/webhooks", { token, body: { webhookId: lastId, url: `https://hooks.example.com/${MAX_WEBHOOKS - 1}`, events: ["campaign.settled"] } });
    expect(replay.status).toBe(201);
    for (const id of ids) await callJson("DELETE", `/admin/webhooks/${id}`, { token });
    expect((await callJson("GET", "/admin/webhooks", { token })).body.webhooks).toHaveLength(before);
  });
});

describe("webhook deliveries", () => {
  it("signs each delivery so that the shared verifier and an independent HMAC both accept it, and nothing else does", async () => {
    const { receiver, webhookId, secret } = await registeredReceiver(["connection.established"]);
    const message = deliveryOf(webhookId);
    const result = await deliver("webhook-deliveries", [message], { attempts: 1 });
    expect(result.explicitAcks).toHaveLength(1);

    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(JSON.parse(delivery!.body)).toEqual(message.event);
    expect(delivery!.headers.get("content-type")).toBe("application/json");
    const header = delivery!.headers.get("tally-signature")!;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);
    expect(v1).toBe(await hmacHex(secret, `${t}.${delivery!.body}`));
    expect(await verifyWebhookSignature(secret, delivery!.body, header)).toEqual({ ok: true, timestampSeconds: Number(t) });

    // A changed body, another secret, or an old timestamp (a replay) are refused.
    expect((await verifyWebhookSignature(secret, `${delivery!.body} `, header)).ok).toBe(false);
    expect((await verifyWebhookSignature(`${secret}x`, delivery!.body, header)).ok).toBe(false);
    expect((await verifyWebhookSignature(secret, delivery!.body, header, { nowMs: Number(t) * 1000 + 10 * 60_000 })).ok).toBe(false);
  });

  it("retries a receiver that fails twice with growing delays and delivers the same id on the third attempt, logging each attempt", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    receiver.failNext(2);
    const message = deliveryOf(webhookId);

    const first = await deliver("webhook-deliveries", [message], { attempts: 1 });
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 30 }]);
    const second = await deliver("webhook-deliveries", [message], { attempts: 2 });
    expect(second.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 60 }]);
    const third = await deliver("webhook-deliveries", [message], { attempts: 3 });
    expect(third.retryMessages).toEqual([]);
    expect(third.explicitAcks).toHaveLength(1);

    expect(receiver.received.map((delivery) => delivery.event.id)).toEqual([message.event.id, message.event.id, message.event.id]);
    const log = await deliveriesOf(webhookId);
    expect(log).toEqual([3, 2, 1].map((attempt) => ({
      deliveryId: expect.any(String),
      eventId: message.event.id,
      type: "connection.established",
      attempt,
      status: attempt === 3 ? 200 : 500,
      durationMs: expect.any(Number),
      error: attempt === 3 ? null : "HTTP 500",
      gaveUp: false,
      at: expect.stringMatching(/Z$/),
    })));

    // Delivered: the same message again (its source published twice) is not sent again.
    expect((await deliver("webhook-deliveries", [message], { attempts: 1 })).explicitAcks).toHaveLength(1);
    expect(receiver.received).toHaveLength(3);

    // The log pages newest first.
    const page = await callJson("GET", `/admin/webhooks/${webhookId}/deliveries?limit=2`, { token: await adminToken() });
    expect(page.body.deliveries.map((d: { attempt: number }) => d.attempt)).toEqual([3, 2]);
    const rest = await callJson("GET", `/admin/webhooks/${webhookId}/deliveries?limit=2&cursor=${page.body.nextCursor}`, { token: await adminToken() });
    expect(rest.body).toEqual({ deliveries: [expect.objectContaining({ attempt: 1 })], nextCursor: null });
  });

  it("backs off exponentially up to 12 h a retry and never past 24 h after the event was queued", () => {
    const delays = Array.from({ length: 12 }, (_, i) => nextRetrySeconds(i + 1, 0));
    expect(delays).toEqual([30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720, 43200]);
    expect(nextRetrySeconds(12, 20 * HOUR_MS)).toBe(4 * 3600);
    expect(nextRetrySeconds(5, 24 * HOUR_MS)).toBeUndefined();
  });

  it("gives up once 24 h passed since the event was queued, logging the last attempt as such", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    receiver.failNext(2);
    const nearTheEnd = deliveryOf(webhookId, Date.now() - 24 * HOUR_MS + 10_000);
    const last = await deliver("webhook-deliveries", [nearTheEnd], { attempts: 12 });
    // The retry lands at the end of the window, not 12 h later.
    expect(last.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: expect.any(Number) }]);
    expect(last.retryMessages[0]!.delaySeconds).toBeLessThanOrEqual(10);

    const tooLate = deliveryOf(webhookId, Date.now() - 24 * HOUR_MS - 60_000);
    const gaveUp = await deliver("webhook-deliveries", [tooLate], { attempts: 13 });
    expect(gaveUp.retryMessages).toEqual([]);
    expect(gaveUp.explicitAcks).toHaveLength(1);
    const log = await deliveriesOf(webhookId);
    expect(log[0]).toMatchObject({ eventId: tooLate.event.id, attempt: 13, status: 500, gaveUp: true });
    expect(log[1]).toMatchObject({ eventId: nearTheEnd.event.id, attempt: 12, gaveUp: false });
  });

  it("logs a receiver that does not answer as an attempt without a status, and drops deliveries of a deleted webhook", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    const message = deliveryOf(webhookId);
    const realHandle = receiver.handle.bind(receiver);
    receiver.handle = () => Promise.reject(new TypeError("connection refused"));
    const failed = await deliver("webhook-deliveries", [message], { attempts: 1 });
    expect(failed.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 30 }]);
    expect((await deliveriesOf(webhookId))[0]).toMatchObject({ attempt: 1, status: null, error: expect.stringContaining("connection refused") });
    receiver.handle = realHandle;

    expect((await callJson("DELETE", `/admin/webhooks/${webhookId}`, { token: await adminToken() })).status).toBe(200);
    const dropped = await deliver("webhook-deliveries", [message], { attempts: 2 });
    expect(dropped.explicitAcks).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);
  });

  it("goes through the real queue: a published event reaches the receiver without a test driving the consumer", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    await env.WEBHOOK_DELIVERIES.send(deliveryOf(webhookId));
    await eventually(async () => (receiver.received.length > 0 ? true : undefined));
    expect(receiver.received[0]!.event.type).toBe("connection.established");
  });
});
