import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CampaignBoard } from "../../durable-objects/campaign-board/campaign-board.ts";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { createCampaign, deliver, topOf } from "./support.ts";

const board = (campaignId: string) => env.CAMPAIGN_BOARD.getByName(`campaign:${campaignId}`);

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
    const startedLines = () => log.mock.calls.filter((args) => args[0] === `campaign ${id}: Start`).length;
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
});
