import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CampaignBoard } from "../../durable-objects/campaign-board/campaign-board.ts";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";

const board = (campaignId: string) => boardStub(env, campaignId);

/**
 * Fault injection on the board's real D1 binding: statements whose SQL matches `pattern` fail,
 * everything else goes to D1. Returns a function that puts the real binding back.
 */
async function failBoardD1(campaignId: string, pattern: RegExp): Promise<() => Promise<void>> {
  await runInDurableObject(board(campaignId), (instance: CampaignBoard) => {
    const holder = instance as unknown as { env: Env };
    const real = holder.env;
    const failing = (query: string): D1PreparedStatement => {
      const refuse = () => Promise.reject(new Error(`injected D1 failure: ${query}`));
      const statement = { bind: () => statement, run: refuse, all: refuse, raw: refuse, first: refuse };
      return statement as unknown as D1PreparedStatement;
    };
    const db = new Proxy(real.DB, {
      get(target, key) {
        if (key === "prepare") return (query: string) => (pattern.test(query) ? failing(query) : target.prepare(query));
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    holder.env = Object.create(real, { DB: { value: db } }) as Env;
    (holder as unknown as { realEnv: Env }).realEnv = real;
  });
  return () =>
    runInDurableObject(board(campaignId), (instance: CampaignBoard) => {
      const holder = instance as unknown as { env: Env; realEnv: Env };
      holder.env = holder.realEnv;
    });
}

const SETTLED_AT_UPDATE = /^update "campaigns" set "settled_at"/i;

function qualified(campaignId: string, userId: string, minor: number, purchaseId = crypto.randomUUID()): QualifiedPurchaseMessage {
  return { kind: "qualified-purchase", purchaseId, campaignId, userId, amount: { minor, currency: "EUR" }, timestamp: Date.now() - 1000 };
}

async function settled(campaignId: string) {
  return eventually(async () => {
    await runDurableObjectAlarm(board(campaignId));
    const { body } = await callJson("GET", `/campaigns/${campaignId}`);
    return body.campaign.status === "settled" ? body.campaign : undefined;
  });
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("campaign lifecycle and settlement", () => {
  it("publishes Start on campaign-lifecycle when the campaign starts", async () => {
    // The campaign-lifecycle consumer logs each message it takes off the queue.
    const log = vi.spyOn(console, "log");
    const campaign = await createCampaign({ start: Date.now() + 60_000, end: Date.now() + 120_000 });
    const id = campaign.campaignId;
    const startedLines = () =>
      log.mock.calls.filter((args) => {
        // Tally's lines are JSON (shared/log.ts); anything else logged is not the one sought.
        try {
          const line = JSON.parse(String(args[0])) as { msg?: string; campaignId?: string };
          return line.msg === "campaign Start" && line.campaignId === id;
        } catch {
          return false;
        }
      }).length;
    const before = await runInDurableObject(board(id), (instance: CampaignBoard) => instance.state());
    expect(before.ok && before.value.lifecycle.startPublished).toBe(false);
    expect(await runInDurableObject(board(id), (_i, state) => state.storage.getAlarm())).toBe(Date.parse(campaign.startDateTime));

    expect(startedLines()).toBe(0);

    // The alarm at the start time: Start goes out once, and the next alarm is the end.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(campaign.startDateTime));
    expect(await runDurableObjectAlarm(board(id))).toBe(true);
    vi.useRealTimers();
    const after = await board(id).state();
    expect(after.ok && after.value.lifecycle).toMatchObject({ startPublished: true, endPublished: false });
    expect(await runInDurableObject(board(id), (_i, state) => state.storage.getAlarm())).toBe(Date.parse(campaign.endDateTime));
    await eventually(async () => (startedLines() > 0 ? true : undefined));
    expect(startedLines()).toBe(1);
    await runInDurableObject(board(id), (_i, state) => state.storage.deleteAlarm());
  });

  it("settles once at the end: the winner row, then the prize in the winner's wallet", async () => {
    const campaign = await createCampaign({ prize: { value: "75.50", currency: "EUR" } });
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "801", 500), qualified(id, "802", 900), qualified(id, "801", 300)]);
    expect((await callJson("GET", `/campaigns/${id}/winner`)).status).toBe(404);

    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    await settled(id);

    const { status, body } = await callJson("GET", `/campaigns/${id}/winner`);
    expect(status).toBe(200);
    expect(body.winner).toMatchObject({ campaignId: id, userId: "802", total: { value: "9.00", currency: "EUR" }, prize: { value: "75.50", currency: "EUR" } });
    expect(body.winner.decidedAt).toMatch(/Z$/);

    // Running the alarm again (a retry) settles nothing twice.
    await runDurableObjectAlarm(board(id));
    const wallet = await callJson("GET", "/users/802/wallet", { token: await tokenFor(802, ["citizen"]) });
    expect(wallet.status).toBe(200);
    expect(wallet.body.money).toEqual([{ value: "75.50", currency: "EUR" }]);
    expect(wallet.body.entries).toHaveLength(1);
    expect(wallet.body.entries[0]).toMatchObject({ ref: `campaign-prize:${id}`, money: { value: "75.50", currency: "EUR" } });
  });

  it("records purchases that arrive after settlement without changing the board or the winner", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "11", 1000)]);
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    await settled(id);
    const before = await topOf(id);
    await deliver("qualified-purchase-events", [qualified(id, "12", 99_999, "late-1")]);
    expect(await topOf(id)).toEqual(before);
    expect((await callJson("GET", `/campaigns/${id}/winner`)).body.winner.userId).toBe("11");
    const recorded = await runInDurableObject(board(id), (_i, state) =>
      state.storage.sql.exec<{ counted: number }>("SELECT counted FROM purchases WHERE purchase_id = 'late-1'").toArray(),
    );
    expect(recorded).toEqual([{ counted: 0 }]);
  });

  it("settles a campaign without purchases with no winner", async () => {
    const campaign = await createCampaign();
    await callJson("POST", `/campaigns/${campaign.campaignId}/end`, { token: await adminToken() });
    await settled(campaign.campaignId);
    const { status, body } = await callJson("GET", `/campaigns/${campaign.campaignId}/winner`);
    expect(status).toBe(404);
    expect(body.detail).toMatch(/no qualifying purchases/);
  });

  it("walks Start, End and settlement in order from its alarms", async () => {
    const campaign = await createCampaign({ start: Date.now() - 1000, end: Date.now() + 600_000 });
    const id = campaign.campaignId;
    await eventually(async () => {
      await runDurableObjectAlarm(board(id));
      const state = await board(id).state();
      return state.ok && state.value.lifecycle.startPublished ? true : undefined;
    });
    const mid = await board(id).state();
    expect(mid.ok && mid.value.lifecycle).toMatchObject({ startPublished: true, endPublished: false, settledAt: null });
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    await settled(id);
    const end = await board(id).state();
    expect(end.ok && end.value.lifecycle.endPublished).toBe(true);
    expect(await runInDurableObject(board(id), (_i, state) => state.storage.getAlarm())).toBeNull();
  });

  it("pays one winner when a settlement fails after the credit and a late purchase would change the lead", async () => {
    const campaign = await createCampaign({ prize: { value: "10.00", currency: "EUR" } });
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "901", 700), qualified(id, "902", 300)]);
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    const restore = await failBoardD1(id, SETTLED_AT_UPDATE);

    await runDurableObjectAlarm(board(id));
    expect((await callJson("GET", `/campaigns/${id}`)).body.campaign.status).toBe("ended");
    // The alarm is armed again for the retry rather than abandoned (it may be running on its own at this moment).
    await eventually(() => runInDurableObject(board(id), async (_i, state) => (await state.storage.getAlarm()) ?? undefined));

    // A late purchase that would put 902 ahead arrives between the attempts.
    await deliver("qualified-purchase-events", [qualified(id, "902", 5000, "late-lead")]);
    await restore();
    await settled(id);

    const winner = await callJson("GET", `/campaigns/${id}/winner`);
    expect(winner.body.winner).toMatchObject({ userId: "901", total: { value: "7.00", currency: "EUR" } });
    const paid = await callJson("GET", "/users/901/wallet", { token: await tokenFor(901, ["citizen"]) });
    expect(paid.body.money).toEqual([{ value: "10.00", currency: "EUR" }]);
    const other = await callJson("GET", "/users/902/wallet", { token: await tokenFor(902, ["citizen"]) });
    expect(other.body.money).toEqual([]);
    const rows = await env.DB.prepare("SELECT user_id FROM campaign_winners WHERE campaign_id = ?").bind(Number(id)).all<{ user_id: number }>();
    expect(rows.results).toEqual([{ user_id: 901 }]);
  });

  it("keeps re-arming the alarm with growing waits until a failing settlement completes", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "951", 400)]);
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    const restore = await failBoardD1(id, SETTLED_AT_UPDATE);
    const failures = async () => {
      const state = await board(id).state();
      return state.ok ? state.value.lifecycle.failedAttempts : 0;
    };

    // More failed runs than the runtime's own alarm retries (six). The short first waits may also
    // fire on their own, so runs are counted by the board rather than by this loop.
    for (let run = 0; run < 100 && (await failures()) < 8; run++) {
      // False while the alarm is running on its own; give that run a moment to finish.
      if (!(await runDurableObjectAlarm(board(id)))) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await failures()).toBeGreaterThanOrEqual(8);
    // After eight failures in a row the next attempt waits 2^7 s: still armed, and backing off.
    const armed = await eventually(() => runInDurableObject(board(id), async (_i, state) => (await state.storage.getAlarm()) ?? undefined));
    expect(armed - Date.now()).toBeGreaterThan(60_000);
    expect((await callJson("GET", `/campaigns/${id}`)).body.campaign.status).toBe("ended");

    await restore();
    await settled(id);
    expect((await callJson("GET", `/campaigns/${id}/winner`)).body.winner.userId).toBe("951");
    expect(await failures()).toBe(0);
    expect(await runInDurableObject(board(id), (_i, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("prize tiers", () => {
  const eur = (value: string) => ({ value, currency: "EUR" });

  it("pays position 0, 1–2 and 3–9 their tier once each under a retried settlement, and lists the winners as paid", async () => {
    const campaign = await createCampaign({
      prize: eur("100.00"),
      prizes: [
        { fromPosition: 3, toPosition: 9, prize: eur("5.00") },
        { fromPosition: 1, toPosition: 2, prize: eur("20.00") },
      ],
    });
    const id = campaign.campaignId;
    expect((await callJson("GET", `/campaigns/${id}`)).body.campaign.prizes).toEqual([
      { fromPosition: 1, toPosition: 2, prize: eur("20.00") },
      { fromPosition: 3, toPosition: 9, prize: eur("5.00") },
    ]);
    const base = 700_000 + Math.floor(Math.random() * 10_000) * 20;
    const users = Array.from({ length: 12 }, (_, i) => String(base + i));
    // User i has total 1200 - 100 i: position i.
    await deliver("qualified-purchase-events", users.map((userId, i) => qualified(id, userId, 1200 - 100 * i)));
    expect((await callJson("GET", `/campaigns/${id}/winners`)).status).toBe(404);
    await callJson("PUT", `/users/${users[1]}/profile`, { token: await adminToken(), body: { displayName: "Runner-up" } });

    // The first settlement pays and then fails to mark D1 settled; the retry must pay no one twice.
    const restore = await failBoardD1(id, SETTLED_AT_UPDATE);
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    await eventually(async () => {
      await runDurableObjectAlarm(board(id));
      const state = await board(id).state();
      return state.ok && state.value.lifecycle.failedAttempts > 0 ? true : undefined;
    });
    await restore();
    await settled(id);
    await runDurableObjectAlarm(board(id));

    const prizeOf = (position: number) => (position === 0 ? "100.00" : position <= 2 ? "20.00" : position <= 9 ? "5.00" : null);
    const { status, body } = await callJson("GET", `/campaigns/${id}/winners`);
    expect(status).toBe(200);
    expect(body.campaignId).toBe(id);
    expect(body.decidedAt).toMatch(/Z$/);
    expect(body.winners).toEqual(
      users.slice(0, 10).map((userId, position) => ({
        position,
        userId,
        displayName: position === 1 ? "Runner-up" : null,
        total: eur(((1200 - 100 * position) / 100).toFixed(2)),
        prize: eur(prizeOf(position)!),
      })),
    );
    for (const [position, userId] of users.entries()) {
      const wallet = await callJson("GET", `/users/${userId}/wallet`, { token: await adminToken() });
      const expected = prizeOf(position);
      expect(wallet.body.money).toEqual(expected ? [eur(expected)] : []);
      expect(wallet.body.entries).toHaveLength(expected ? 1 : 0);
    }
    expect((await callJson("GET", `/campaigns/${id}/winner`)).body.winner).toMatchObject({ userId: users[0], prize: eur("100.00") });
  });

  it("refuses tiers that cover 0, overlap, use another currency or cover over 100 positions", async () => {
    const token = await adminToken();
    const now = Date.now();
    const body = (prizes: unknown) => ({
      itemId: "1",
      prize: eur("10.00"),
      prizes,
      startDateTime: new Date(now).toISOString(),
      endDateTime: new Date(now + 3_600_000).toISOString(),
    });
    const cases: [unknown, number, string][] = [
      [[{ fromPosition: 0, toPosition: 2, prize: eur("1.00") }], 400, "prizes.0.fromPosition"],
      [[{ fromPosition: 1, toPosition: 5, prize: eur("1.00") }, { fromPosition: 5, toPosition: 6, prize: eur("1.00") }], 422, "prizes.1.fromPosition"],
      [[{ fromPosition: 1, toPosition: 2, prize: { value: "1.00", currency: "USD" } }], 422, "prizes.0.prize.currency"],
      [[{ fromPosition: 1, toPosition: 101, prize: eur("1.00") }], 422, "prizes"],
      [[{ fromPosition: 3, toPosition: 2, prize: eur("1.00") }], 422, "prizes.0.toPosition"],
    ];
    for (const [prizes, status, path] of cases) {
      const answer = await callJson("POST", "/campaigns", { token, body: body(prizes) });
      expect(answer.status).toBe(status);
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });
});
