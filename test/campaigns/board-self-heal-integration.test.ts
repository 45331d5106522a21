import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import { database, schema } from "../../shared/db/client.ts";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { app } from "../../workers/app.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";
import { uniqueId } from "../support/ids.ts";

const HOUR = 3_600_000;

/** The real board namespace, with every board's `configure` failing as an outage between D1 and the object would. */
function configureFails(namespace: Env["CAMPAIGN_BOARD"]): Env["CAMPAIGN_BOARD"] {
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName") {
        return (name: string) => {
          const stub = target.getByName(name);
          return new Proxy(stub, {
            get(stubTarget, key) {
              if (key === "configure") return async () => Promise.reject(new Error("injected board failure"));
              const value: unknown = Reflect.get(stubTarget, key);
              return typeof value === "function" ? value.bind(stubTarget) : value;
            },
          });
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The tables an object's SQLite holds (the runtime's own `_cf_` tables aside). */
async function tablesOf(campaignId: string): Promise<string[]> {
  return runInDurableObject(boardStub(env, campaignId), (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((row) => row.name),
  );
}

describe("a campaign whose board was never configured", () => {
  it("still scores purchases and answers its leaderboard: the board takes its terms from D1", async () => {
    const itemId = uniqueId();
    const now = Date.now();
    const ctx = createExecutionContext();
    const request = new Request("https://tally.test/campaigns", {
      method: "POST",
      headers: { authorization: `Bearer ${await adminToken()}`, "content-type": "application/json" },
      body: JSON.stringify({
        itemId,
        prize: { value: "50.00", currency: "EUR" },
        startDateTime: new Date(now - HOUR).toISOString(),
        endDateTime: new Date(now + HOUR).toISOString(),
      }),
    });
    const failed = await app.fetch(request, { ...env, CAMPAIGN_BOARD: configureFails(env.CAMPAIGN_BOARD) }, ctx);
    await waitOnExecutionContext(ctx);
    expect(failed.status).toBeGreaterThanOrEqual(500);

    const [row] = await database(env.DB).select().from(schema.campaigns).where(eq(schema.campaigns.itemId, Number(itemId)));
    expect(row).toBeDefined();
    const campaignId = String(row!.campaignId);

    const purchase: QualifiedPurchaseMessage = {
      kind: "qualified-purchase",
      purchaseId: crypto.randomUUID(),
      campaignId,
      userId: "77",
      amount: { minor: 1234, currency: "EUR" },
      timestamp: now - 60_000,
    };
    const result = await deliver("qualified-purchase-events", [purchase]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    expect((await topOf(campaignId)).map((p) => [p.userId, p.total.value])).toEqual([["77", "12.34"]]);
    const state = await boardStub(env, campaignId).state();
    expect(state.ok && state.value.terms.prize).toEqual({ minor: 5000, currency: "EUR" });
  });
});

describe("reading an unknown campaign", () => {
  it("answers 404 and leaves no stored board behind", async () => {
    const campaignId = uniqueId();
    const top = await callJson("GET", `/records/top/1/${campaignId}`);
    expect(top.status).toBe(404);
    const position = await callJson("GET", `/records/position/${campaignId}/5`, { token: await tokenFor("5") });
    expect(position.status).toBe(404);
    expect(await tablesOf(campaignId)).toEqual([]);
  });

  it("while a known campaign's board does keep its tables", async () => {
    const campaignId = uniqueId();
    const now = Date.now();
    const created = await callJson("POST", "/campaigns", {
      token: await adminToken(),
      body: {
        campaignId,
        itemId: uniqueId(),
        prize: { value: "1.00", currency: "EUR" },
        startDateTime: new Date(now - HOUR).toISOString(),
        endDateTime: new Date(now + HOUR).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    expect(await tablesOf(campaignId)).toContain("meta");
  });
});

describe("asking for the winner of a campaign whose board was never configured", () => {
  it("sets the board up, so the campaign settles even without purchases", async () => {
    const campaignId = uniqueId();
    const now = Date.now();
    const request = new Request("https://tally.test/campaigns", {
      method: "POST",
      headers: { authorization: `Bearer ${await adminToken()}`, "content-type": "application/json" },
      body: JSON.stringify({
        campaignId,
        itemId: uniqueId(),
        prize: { value: "5.00", currency: "EUR" },
        startDateTime: new Date(now - 2 * HOUR).toISOString(),
        endDateTime: new Date(now - HOUR).toISOString(),
      }),
    });
    const ctx = createExecutionContext();
    const failed = await app.fetch(request, { ...env, CAMPAIGN_BOARD: configureFails(env.CAMPAIGN_BOARD) }, ctx);
    await waitOnExecutionContext(ctx);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await tablesOf(campaignId)).toEqual([]);

    const winner = await callJson("GET", `/campaigns/${campaignId}/winner`);
    expect(winner.status).toBe(404);
    expect(await tablesOf(campaignId)).toContain("meta");
    // Its lifecycle is under way: an alarm is armed, or it already ran through to settlement. While an
    // alarm runs, no next one is armed yet, so look again until one of the two holds.
    const underWay = await eventually(async () => {
      const alarmAt = await runInDurableObject(boardStub(env, campaignId), (_instance, state) => state.storage.getAlarm());
      const board = await boardStub(env, campaignId).state();
      expect(board.ok).toBe(true);
      return alarmAt !== null || (board.ok && board.value.lifecycle.settledAt !== null) ? true : undefined;
    });
    expect(underWay).toBe(true);
  });
});
