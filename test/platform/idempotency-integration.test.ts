import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { idempotencyShardStub } from "../../durable-objects/idempotency-shard/stub.ts";
import { DAY_MS } from "../../shared/time.ts";
import { app } from "../../workers/app.ts";
import { createCampaign, topOf } from "../campaigns/support.ts";
import { callJson, eventually, serviceToken } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";

/** Runs the clean-up a shard's daily alarm would run `days` from now. */
async function cleanUpAsOf(scope: string, eventId: string, days: number): Promise<void> {
  await runInDurableObject(idempotencyShardStub(env, scope, eventId), (shard) => shard.prune(Date.now() + days * DAY_MS));
}

const purchase = (itemId: string, overrides: Record<string, unknown> = {}) => ({
  userId: "42",
  itemId,
  amount: { value: "10.00", currency: "EUR" },
  timestamp: new Date(Date.now() - 60_000).toISOString(),
  ...overrides,
});

describe("event ids of the hot ingest paths", () => {
  it("still refuses a purchase id reused with new terms after every clean-up 31 days on, as the boards still hold it", async () => {
    const purchaseId = `p-${uniqueId()}`;
    const body = purchase("7", { purchaseId });
    const first = await callJson("POST", "/purchases", { token: await serviceToken(), body });
    expect(first.status).toBe(202);
    await cleanUpAsOf("purchase", purchaseId, 31);
    const reused = await callJson("POST", "/purchases", {
      token: await serviceToken(),
      body: { ...body, amount: { value: "99.00", currency: "EUR" } },
    });
    // Before, the 30-day D1 window had forgotten it: 202, then the board dropped it as a duplicate.
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe("idempotency_conflict");
    const resent = await callJson("POST", "/purchases", { token: await serviceToken(), body });
    expect(resent).toMatchObject({ status: 202, body: { purchaseId } });
  });

  it("forgets an incentive event id after 30 days, so a new event under it is accepted", async () => {
    const eventId = `e-${uniqueId()}`;
    const event = { eventId, userId: "42", employerId: "7", event: "data-logged", timestamp: new Date(Date.now() - DAY_MS).toISOString() };
    expect((await callJson("POST", "/incentives/events", { token: await serviceToken(), body: event })).status).toBe(202);
    await cleanUpAsOf("incentive-event", eventId, 29);
    const changed = { ...event, event: "birth-reported" };
    expect((await callJson("POST", "/incentives/events", { token: await serviceToken(), body: changed })).status).toBe(409);
    await cleanUpAsOf("incentive-event", eventId, 31);
    expect(await callJson("POST", "/incentives/events", { token: await serviceToken(), body: changed })).toMatchObject({ status: 202, body: { eventId } });
  });

  it("writes no D1 row per event", async () => {
    const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).not.toContain("idempotency_keys");
  });

  it("enqueues on the resend when the first answer's queue send failed after the id was recorded", async () => {
    const campaign = await createCampaign();
    const purchaseId = `p-${uniqueId()}`;
    const body = JSON.stringify(purchase(campaign.itemId, { purchaseId, userId: "4242" }));
    const send = async (events: Queue) => {
      const ctx = createExecutionContext();
      const response = await app.fetch(
        new Request("https://tally.test/purchases", {
          method: "POST",
          headers: { authorization: `Bearer ${await serviceToken()}`, "content-type": "application/json" },
          body,
        }),
        { ...env, PURCHASE_EVENTS: events },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return response;
    };
    // The queue is down on the first attempt: the id is recorded, the message is not sent.
    const down = { send: () => Promise.reject(new Error("queue unavailable")), sendBatch: () => Promise.reject(new Error("queue unavailable")) };
    const failed = await send(down as unknown as Queue);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await failed.body?.cancel();
    const resent = await send(env.PURCHASE_EVENTS);
    expect(resent.status).toBe(202);
    expect(await resent.json()).toEqual({ purchaseId });
    const top = await eventually(async () => {
      const positions = await topOf(campaign.campaignId);
      return positions.length > 0 ? positions : undefined;
    });
    expect(top).toEqual([{ userId: "4242", displayName: null, position: 0, total: { value: "10.00", currency: "EUR" } }]);
  });
});

describe("queue sends of concurrent ingest requests", () => {
  /** The real user-tags queue, recording what each sendBatch carried; `fail` makes every call throw. */
  const recording = (fail = false) => {
    const batches: unknown[][] = [];
    const reject = () => Promise.reject(new Error("queue unavailable"));
    const binding = {
      send: (body: unknown) => (fail ? reject() : (batches.push([body]), env.USER_TAGS.send(body as never))),
      sendBatch: (messages: Array<{ body: unknown }>) =>
        fail ? reject() : (batches.push(messages.map((m) => m.body)), env.USER_TAGS.sendBatch(messages as never)),
    };
    return { batches, binding: binding as unknown as Queue };
  };
  const postTags = (queue: Queue, cookies: string[]) =>
    Promise.all(
      cookies.map(async (cookie) => {
        const ctx = createExecutionContext();
        const body = JSON.stringify({
          time: new Date(Date.now() - 60_000).toISOString(), cookie, country: "PL", device: "PC", action: "VIEW", origin: "o",
          product_info: { product_id: 1, brand_id: "b", category_id: "c", price: 1 },
        });
        const response = await app.fetch(
          new Request("https://tally.test/user_tags", { method: "POST", headers: { "content-type": "application/json" }, body }),
          { ...env, USER_TAGS: queue },
          ctx,
        );
        await waitOnExecutionContext(ctx);
        return response.status;
      }),
    );

  it("go out together in fewer queue calls than requests, each message once, every request answered after its batch", async () => {
    const queue = recording();
    const cookies = Array.from({ length: 8 }, () => `batched-${uniqueId()}`);
    expect(await postTags(queue.binding, cookies)).toEqual(cookies.map(() => 204));
    const sent = queue.batches.flat().map((message) => (message as { cookie: string }).cookie);
    expect(sent.sort()).toEqual([...cookies].sort());
    expect(queue.batches.length).toBeLessThan(cookies.length);
  });

  it("fail every request of a batch whose send fails, so each client resends", async () => {
    const statuses = await postTags(recording(true).binding, Array.from({ length: 4 }, () => `failed-${uniqueId()}`));
    for (const status of statuses) expect(status).toBeGreaterThanOrEqual(500);
  });
});
