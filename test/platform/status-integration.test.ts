import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PurchaseMessage, QueueMessage } from "../../shared/messages.ts";
import worker from "../../workers/index.ts";
import { deliver } from "../support/queues.ts";
import { adminToken, call, callJson, tokenFor } from "../support/http.ts";

afterEach(() => {
  vi.useRealTimers();
});

interface QueueRow {
  queue: string;
  lastBatchAt: string | null;
  maxLagSeconds: number | null;
  deadLetters: number;
}

async function status() {
  const answer = await callJson("GET", "/admin/status", { token: await adminToken() });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as { queues: QueueRow[]; settlementsPending: number; webhookDeliveriesFailing: number; version: string };
}

async function queueRow(queue: string): Promise<QueueRow> {
  const row = (await status()).queues.find((entry) => entry.queue === queue);
  if (!row) throw new Error(`no status for ${queue}`);
  return row;
}

/**
 * The real D1 binding, except that while `failing.on` every statement reading the campaign
 * catalogue throws: the purchase-events consumer's one query per batch, as if D1 were down for it.
 */
const failing = { on: false };
const flakyDb = new Proxy(env.DB, {
  get(target, property) {
    if (property === "prepare") {
      return (query: string) => {
        if (failing.on && /from "campaigns"/i.test(query)) throw new Error("injected: D1 unavailable");
        return target.prepare(query);
      };
    }
    const value: unknown = Reflect.get(target, property);
    return typeof value === "function" ? value.bind(target) : value;
  },
});

/** One batch through the Worker's queue handler with the flaky D1, each message sent at `sentAt`. */
async function deliverSent(queue: string, messages: { id: string; body: QueueMessage; sentAt: number; attempts: number }[]) {
  const batch = createMessageBatch<QueueMessage>(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(m.sentAt), attempts: m.attempts, body: m.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, DB: flakyDb }, ctx);
  return getQueueResult(batch, ctx);
}

const purchase = (purchaseId: string, timestamp: number): PurchaseMessage => ({
  kind: "purchase",
  purchaseId,
  userId: "9",
  itemId: "424242",
  amount: { minor: 100, currency: "EUR" },
  timestamp,
});

describe("GET /admin/status", () => {
  it("is for admins only", async () => {
    expect((await call("GET", "/admin/status")).status).toBe(401);
    expect((await call("GET", "/admin/status", { token: await tokenFor("5", ["employer"]) })).status).toBe(403);
  });

  it("shows a queue's lag rising while its consumer fails and falling once it recovers", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const sentAt = Date.now();
    const stuck = { id: "lag-1", body: purchase("lag-1", sentAt), sentAt };

    // The catalogue read fails: the batch is retried (after 2 s, then 4 s …) and its message ages.
    failing.on = true;
    vi.setSystemTime(sentAt + 5_000);
    let result = await deliverSent("purchase-events", [{ ...stuck, attempts: 1 }]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["lag-1"]);
    const first = await queueRow("purchase-events");
    expect(first.maxLagSeconds).toBe(5);
    expect(first.lastBatchAt).toBe(new Date(sentAt + 5_000).toISOString());

    vi.setSystemTime(sentAt + 40_000);
    result = await deliverSent("purchase-events", [{ ...stuck, attempts: 2 }]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["lag-1"]);
    expect((await queueRow("purchase-events")).maxLagSeconds).toBe(40);

    // D1 is back: the old message goes through, and the batches after it carry fresh messages.
    failing.on = false;
    vi.setSystemTime(sentAt + 60_000);
    result = await deliverSent("purchase-events", [{ ...stuck, attempts: 3 }]);
    expect(result.explicitAcks).toEqual(["lag-1"]);
    expect((await queueRow("purchase-events")).maxLagSeconds).toBe(60);

    vi.setSystemTime(sentAt + 61_500);
    result = await deliverSent("purchase-events", [{ id: "lag-2", body: purchase("lag-2", sentAt + 61_000), sentAt: sentAt + 61_000, attempts: 1 }]);
    expect(result.explicitAcks).toEqual(["lag-2"]);
    const recovered = await queueRow("purchase-events");
    expect(recovered.maxLagSeconds).toBe(0.5);
    expect(recovered.lastBatchAt).toBe(new Date(sentAt + 61_500).toISOString());
  });

  it("lists every consumed queue, with its dead letters waiting", async () => {
    const before = await status();
    expect(before.queues.map((q) => q.queue)).toEqual([
      "purchase-events",
      "qualified-purchase-events",
      "campaign-lifecycle",
      "incentive-events",
      "incentive-awards",
      "established-connections",
      "user-tags",
      "ad-billing",
      "webhook-deliveries",
      "dead-letters",
    ]);
    expect(before.version).toEqual(expect.any(String));
    const lettersBefore = before.queues.find((q) => q.queue === "user-tags")!.deadLetters;
    const body = { kind: "user-tag", tagId: "t", time: 0, cookie: "c", action: "VIEW", origin: "o", brandId: "b", categoryId: "k", price: 1, json: "{}", acceptedAt: 0 };
    await deliver("dead-letters", [body as QueueMessage, body as QueueMessage], { ids: ["status-dl-1", "status-dl-2"], attempts: 6 });
    const after = await status();
    expect(after.queues.find((q) => q.queue === "user-tags")!.deadLetters).toBe(lettersBefore + 2);
    // A letter redacted by a cookie's erasure can never be re-driven: it is not waiting.
    await env.DB.prepare("UPDATE dead_letters SET redacted_at = ? WHERE dead_letter_id = ?").bind(Date.now(), "status-dl-1").run();
    expect((await status()).queues.find((q) => q.queue === "user-tags")!.deadLetters).toBe(lettersBefore + 1);
    // The dead-letter consumer's own batch is recorded like any other.
    expect(after.queues.find((q) => q.queue === "dead-letters")!.lastBatchAt).not.toBeNull();
  });

  it("counts settlements overdue and webhook deliveries still failing", async () => {
    const before = await status();
    const now = Date.now();
    const hour = 3_600_000;
    await env.DB.batch([
      // Ended two hours ago, never settled: its board is retrying.
      env.DB.prepare("INSERT INTO campaigns (campaign_id, item_id, prize_minor, currency, start_at, end_at, created_at) VALUES (?, ?, 100, 'EUR', ?, ?, ?)")
        .bind(990001, 990001, now - 3 * hour, now - 2 * hour, now - 3 * hour),
      // Settled: not pending.
      env.DB.prepare("INSERT INTO campaigns (campaign_id, item_id, prize_minor, currency, start_at, end_at, settled_at, created_at) VALUES (?, ?, 100, 'EUR', ?, ?, ?, ?)")
        .bind(990002, 990002, now - 3 * hour, now - 2 * hour, now - hour, now - 3 * hour),
      // Not yet due: ends in an hour.
      env.DB.prepare("INSERT INTO campaigns (campaign_id, item_id, prize_minor, currency, start_at, end_at, created_at) VALUES (?, ?, 100, 'EUR', ?, ?, ?)")
        .bind(990003, 990003, now - hour, now + hour, now - hour),
    ]);
    const attempt = env.DB.prepare(
      "INSERT INTO webhook_deliveries (webhook_id, event_id, type, attempt, status, duration_ms, error, gave_up, at) VALUES (?, ?, 'campaign.settled', ?, ?, 5, ?, ?, ?)",
    );
    await env.DB.batch([
      attempt.bind("wh-status", "ev-failing", 1, 500, "HTTP 500", 0, now - 60_000),
      attempt.bind("wh-status", "ev-failing", 2, 503, "HTTP 503", 0, now - 30_000),
      attempt.bind("wh-status", "ev-healed", 1, 500, "HTTP 500", 0, now - 60_000),
      attempt.bind("wh-status", "ev-healed", 2, 200, null, 0, now - 30_000),
      attempt.bind("wh-status", "ev-given-up", 1, null, "timeout", 1, now - 30_000),
    ]);
    const after = await status();
    expect(after.settlementsPending).toBe(before.settlementsPending + 1);
    expect(after.webhookDeliveriesFailing).toBe(before.webhookDeliveriesFailing + 1);
  });
});
