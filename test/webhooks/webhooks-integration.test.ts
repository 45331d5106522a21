import { env } from "cloudflare:workers";
import { describe, expect, it, } from "vitest";
import type { WebhookDeliveryMessage } from "../../shared/messages.ts";
import { verifyWebhookSignature } from "../../shared/webhook-signature.ts";
import { nextRetrySeconds } from "../../workers/webhooks/deliveries.ts";
import { MAX_WEBHOOKS } from "../../workers/webhooks/routes.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { deliver as deliverToQueue } from "../support/queues.ts";
import { callApp, deliveriesOf, hmacHex, registeredReceiver } from "./support.ts";

const HOUR_MS = 3_600_000;

let seq = 0;

/** Delivers `bodies` as one webhook-deliveries batch on its `attempts`th delivery (the shared helper). */
const deliver = (bodies: WebhookDeliveryMessage[], attempts: number) => deliverToQueue("webhook-deliveries", bodies, { attempts });

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
  it("shows the secret once, stores it encrypted, lists webhooks without it, replays a resent id without it and refuses other terms", async () => {
    const token = await adminToken();
    const body = { webhookId: "hook-reg-1", url: "https://hooks.example.com/tally", events: ["campaign.settled", "connection.established", "campaign.settled"] };
    const created = await callJson("POST", "/admin/webhooks", { token, body });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      webhook: { webhookId: "hook-reg-1", url: body.url, events: ["connection.established", "campaign.settled"], createdAt: expect.stringMatching(/Z$/) },
      secret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/),
    });
    // D1 holds no usable secret: a dump or backup does not let anyone sign as Tally.
    const row = await env.DB.prepare("SELECT secret FROM webhooks WHERE webhook_id = ?").bind("hook-reg-1").first<{ secret: string }>();
    expect(row!.secret).toMatch(/^v1:/);
    expect(row!.secret).not.toContain(created.body.secret.slice(6));
    // Shown once: a resend of the registration answers it without the secret.
    const replay = await callJson("POST", "/admin/webhooks", { token, body });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual({ webhook: created.body.webhook });
    const other = await callJson("POST", "/admin/webhooks", { token, body: { ...body, url: "https://elsewhere.example.com/" } });
    expect(other.status).toBe(409);

    const listed = await callJson("GET", "/admin/webhooks", { token });
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toContainEqual(created.body.webhook);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);

    const removed = await callJson("DELETE", "/admin/webhooks/hook-reg-1", { token });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ webhook: created.body.webhook });
    // Its log stays readable as its history; its id is never registered again.
    expect(await callJson("GET", "/admin/webhooks/hook-reg-1/deliveries", { token })).toMatchObject({ status: 200, body: { deliveries: [], nextCursor: null } });
    expect((await callJson("DELETE", "/admin/webhooks/hook-reg-1", { token })).status).toBe(404);
    expect((await callJson("GET", "/admin/webhooks", { token })).body.webhooks).not.toContainEqual(created.body.webhook);
    expect((await callJson("POST", "/admin/webhooks", { token, body })).status).toBe(409);
    // The deleted webhook's secret is wiped from D1.
    const wiped = await env.DB.prepare("SELECT secret FROM webhooks WHERE webhook_id = ?").bind("hook-reg-1").first<{ secret: string }>();
    expect(wiped?.secret ?? "").toBe("");
    expect((await callJson("GET", "/admin/webhooks/never-registered/deliveries", { token })).status).toBe(404);
  });

  it("refuses to register without WEBHOOK_ENCRYPTION_KEY, or with the public example key outside local mode, storing nothing", async () => {
    const token = await adminToken();
    const body = { webhookId: `hook-nokey-${++seq}`, url: "https://hooks.example.com/tally", events: ["campaign.settled"] };
    const refused = await callApp({ ...env, WEBHOOK_ENCRYPTION_KEY: undefined } as unknown as Env, "POST", "/admin/webhooks", { token, body });
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toContain("WEBHOOK_ENCRYPTION_KEY");
    const example = await callApp({ ...env, LOCAL_MODE: undefined, WEBHOOK_ENCRYPTION_KEY: "dev-only-webhook-encryption-key-change-me" } as unknown as Env, "POST", "/admin/webhooks", { token, body });
    expect(example.status).toBe(503);
    expect((await callJson("GET", "/admin/webhooks", { token })).body.webhooks.map((w: { webhookId: string }) => w.webhookId)).not.toContain(body.webhookId);
  });

  it("refuses URLs that are not https to a public address, unknown events, and callers who are not admins", async () => {
    const token = await adminToken();
    const register = (body: unknown, as = token) => callJson("POST", "/admin/webhooks", { token: as, body });
    const refusedUrls = [
      "http://hooks.example.com/",
      "ftp://hooks.example.com/",
      "not a url",
      "https://user:pw@hooks.example.com/",
      // Private, loopback, link-local (cloud metadata), shared (CGNAT), unspecified, broadcast, multicast.
      "https://10.255.255.1/",
      "https://172.16.0.1/",
      "https://192.168.1.1/",
      "https://127.0.0.2/",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://255.255.255.255/",
      "https://224.0.0.1/",
      // The same addresses in other notations the URL parser accepts (all 10.0.0.1).
      "https://0xa.1/",
      "https://167772161/",
      "https://012.0.0.1/",
      // IPv6: loopback, unique-local (fc00::/7), link-local, IPv4-mapped forms of private addresses.
      "https://[::1]/",
      "https://[fc00::1]/",
      "https://[fd12:3456::1]/",
      "https://[fe80::1]/",
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:7f00:1]/",
      // Local names.
      "https://api.localhost/",
      "https://printer.local/",
      "https://intranet/",
      // Local receivers are http-only on 127.0.0.1 and localhost, nothing else private.
      "http://10.0.0.1/",
      "http://[::1]:8788/",
    ];
    for (const url of refusedUrls) {
      const refused = await register({ url, events: ["campaign.settled"] });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors.map((e: { path: string }) => e.path), url).toEqual(["url"]);
    }
    for (const url of ["https://hooks.example.com/tally", "https://8.8.8.8/hooks", "https://[2606:4700:4700::1111]/hooks"]) {
      const accepted = await register({ url, events: ["campaign.settled"] });
      expect(accepted.status, url).toBe(201);
      await callJson("DELETE", `/admin/webhooks/${accepted.body.webhook.webhookId}`, { token });
    }
    // The tests run with ALLOW_LOCAL_WEBHOOKS="true", as local runs do: plain http to this machine.
    for (const url of ["http://localhost:8788/", "http://127.0.0.1:8788/hooks"]) {
      const local = await register({ url, events: ["campaign.settled"] });
      expect(local.status, url).toBe(201);
      await callJson("DELETE", `/admin/webhooks/${local.body.webhook.webhookId}`, { token });
    }
    // Without the var (production), those are refused too.
    const production = { ...env, ALLOW_LOCAL_WEBHOOKS: undefined } as unknown as Env;
    const loopback = ["http://localhost:8788/", "http://127.0.0.1:8788/hooks", "https://127.0.0.1/", "https://localhost./", "https://0x7f.1/", "https://2130706433/"];
    for (const url of loopback) {
      const refused = await callApp(production, "POST", "/admin/webhooks", { token, body: { url, events: ["campaign.settled"] } });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors.map((e: { path: string }) => e.path), url).toEqual(["url"]);
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
    const result = await deliver([message], 1);
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

    const first = await deliver([message], 1);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 30 }]);
    const second = await deliver([message], 2);
    expect(second.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 60 }]);
    const third = await deliver([message], 3);
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
      error: attempt === 3 ? null : "http-5xx",
      gaveUp: false,
      at: expect.stringMatching(/Z$/),
    })));

    // Delivered: the same message again (its source published twice) is not sent again.
    expect((await deliver([message], 1)).explicitAcks).toHaveLength(1);
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
    const last = await deliver([nearTheEnd], 12);
    // The retry lands at the end of the window, not 12 h later.
    expect(last.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: expect.any(Number) }]);
    expect(last.retryMessages[0]!.delaySeconds).toBeLessThanOrEqual(10);

    const tooLate = deliveryOf(webhookId, Date.now() - 24 * HOUR_MS - 60_000);
    const gaveUp = await deliver([tooLate], 13);
    expect(gaveUp.retryMessages).toEqual([]);
    expect(gaveUp.explicitAcks).toHaveLength(1);
    const log = await deliveriesOf(webhookId);
    expect(log[0]).toMatchObject({ eventId: tooLate.event.id, attempt: 13, status: 500, gaveUp: true });
    expect(log[1]).toMatchObject({ eventId: nearTheEnd.event.id, attempt: 12, gaveUp: false });
  });

  it("logs failures as categories, never the network error's text", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    const realHandle = receiver.handle.bind(receiver);
    const failures: Array<[Error, string]> = [
      [new TypeError("Network connection lost: connect ECONNREFUSED 10.1.2.3:8443 refused"), "connection-refused"],
      [new TypeError("DNS lookup failed for internal-db.corp.example"), "dns"],
      [new DOMException("The operation was aborted due to timeout", "TimeoutError"), "timeout"],
      [new TypeError("TLS peer's certificate is not trusted; reason = self signed certificate 10.1.2.3"), "tls"],
      [new TypeError("something else at 10.1.2.3:22"), "network"],
    ];
    for (const [error, category] of failures) {
      receiver.handle = () => Promise.reject(error);
      const failed = await deliver([deliveryOf(webhookId)], 1);
      expect(failed.retryMessages, category).toEqual([{ msgId: expect.any(String), delaySeconds: 30 }]);
      expect((await deliveriesOf(webhookId))[0], category).toMatchObject({ attempt: 1, status: null, error: category });
    }
    receiver.handle = async (request) => (await realHandle(request), new Response("nope", { status: 404 }));
    await deliver([deliveryOf(webhookId)], 1);
    expect((await deliveriesOf(webhookId))[0]).toMatchObject({ status: 404, error: "http-4xx" });
    const log = JSON.stringify(await deliveriesOf(webhookId));
    expect(log).not.toContain("10.1.2.3");
    expect(log).not.toContain("corp.example");
  });

  it("gives up at once, without sending, on a webhook whose URL the address rule refuses (registered before the rule)", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    // As a registration stored before the rule existed would be.
    await env.DB.prepare("UPDATE webhooks SET url = ? WHERE webhook_id = ?").bind(`https://10.0.0.7/${receiver.host}`, webhookId).run();
    const result = await deliver([deliveryOf(webhookId)], 1);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect((await deliveriesOf(webhookId))[0]).toMatchObject({ status: null, error: "address-not-allowed", gaveUp: true });
    expect(receiver.received).toEqual([]);
  });

  it("keeps a deleted webhook's retries and log to itself: its id is never registered again and its log stays", async () => {
    const token = await adminToken();
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    receiver.failNext(1);
    const message = deliveryOf(webhookId);
    expect((await deliver([message], 1)).retryMessages).toHaveLength(1);

    expect((await callJson("DELETE", `/admin/webhooks/${webhookId}`, { token })).status).toBe(200);
    // A new registration under the same id, for other types, is refused: the pending retry can never reach it.
    const again = await callJson("POST", "/admin/webhooks", { token, body: { webhookId, url: receiver.url, events: ["campaign.settled"] } });
    expect(again.status).toBe(409);
    const retried = await deliver([message], 2);
    expect(retried.explicitAcks).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    // The log is the deleted webhook's history.
    expect(await deliveriesOf(webhookId)).toEqual([expect.objectContaining({ eventId: message.event.id, attempt: 1, status: 500 })]);
  });

  it("sends a webhook only the event types it subscribed to, even when a delivery names it", async () => {
    const { receiver, webhookId } = await registeredReceiver(["campaign.settled"]);
    const result = await deliver([deliveryOf(webhookId)], 1);
    expect(result.explicitAcks).toHaveLength(1);
    expect(receiver.received).toEqual([]);
    expect(await deliveriesOf(webhookId)).toEqual([]);
  });

  it("rotates the secret: the new one is shown once, and both sign every delivery for 24 h", async () => {
    const token = await adminToken();
    const { receiver, webhookId, secret: first } = await registeredReceiver(["connection.established"]);
    const signaturesOf = (index: number) => receiver.received[index]!.headers.get("tally-signature")!;

    const rotated = await callJson("POST", `/admin/webhooks/${webhookId}/rotate-secret`, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({
      webhook: expect.objectContaining({ webhookId }),
      secret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/),
      previousSecretExpiresAt: expect.stringMatching(/Z$/),
    });
    const second = rotated.body.secret as string;
    expect(second).not.toBe(first);
    const expiresIn = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(23.9 * HOUR_MS);
    expect(expiresIn).toBeLessThanOrEqual(24 * HOUR_MS);

    await deliver([deliveryOf(webhookId)], 1);
    const [, t, v1New, v1Old] = /^t=(\d+),v1=([0-9a-f]{64}),v1=([0-9a-f]{64})$/.exec(signaturesOf(0))!;
    const body = receiver.received[0]!.body;
    expect(v1New).toBe(await hmacHex(second, `${t}.${body}`));
    expect(v1Old).toBe(await hmacHex(first, `${t}.${body}`));
    // A receiver still holding the old secret, and one already updated, both verify.
    expect((await verifyWebhookSignature(first, body, signaturesOf(0))).ok).toBe(true);
    expect((await verifyWebhookSignature(second, body, signaturesOf(0))).ok).toBe(true);

    // Once the overlap is over (its end moved to the past, as 24 h passing would), only the new secret signs.
    await env.DB.prepare("UPDATE webhooks SET previous_secret_until = ? WHERE webhook_id = ?").bind(Date.now() - 1, webhookId).run();
    await deliver([deliveryOf(webhookId)], 1);
    expect(signaturesOf(1)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect((await verifyWebhookSignature(first, receiver.received[1]!.body, signaturesOf(1))).ok).toBe(false);
    expect((await verifyWebhookSignature(second, receiver.received[1]!.body, signaturesOf(1))).ok).toBe(true);

    // Rotating again drops the oldest at once: the header carries the newest two.
    const third = (await callJson("POST", `/admin/webhooks/${webhookId}/rotate-secret`, { token })).body.secret as string;
    await deliver([deliveryOf(webhookId)], 1);
    expect(signaturesOf(2).match(/v1=/g)).toHaveLength(2);
    for (const [secret, ok] of [[third, true], [second, true], [first, false]] as const) {
      expect((await verifyWebhookSignature(secret, receiver.received[2]!.body, signaturesOf(2))).ok).toBe(ok);
    }
    // The secrets never appear in listings.
    expect(JSON.stringify((await callJson("GET", "/admin/webhooks", { token })).body)).not.toContain(third);

    expect((await callJson("POST", "/admin/webhooks/no-such-hook/rotate-secret", { token })).status).toBe(404);
    expect((await callJson("POST", `/admin/webhooks/${webhookId}/rotate-secret`, { token: await tokenFor("77", ["citizen"]) })).status).toBe(403);
    expect((await callJson("DELETE", `/admin/webhooks/${webhookId}`, { token })).status).toBe(200);
    expect((await callJson("POST", `/admin/webhooks/${webhookId}/rotate-secret`, { token })).status).toBe(404);
  });

  it("goes through the real queue: a published event reaches the receiver without a test driving the consumer", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    await env.WEBHOOK_DELIVERIES.send(deliveryOf(webhookId));
    await eventually(async () => (receiver.received.length > 0 ? true : undefined));
    expect(receiver.received[0]!.event.type).toBe("connection.established");
  });
});
