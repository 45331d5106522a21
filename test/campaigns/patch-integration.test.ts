import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import { adminToken, callJson } from "../support/http.ts";
import { createCampaign } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const HOUR = 3_600_000;
const alarmOf = (campaignId: string) => runInDurableObject(boardStub(env, campaignId), (_i, state) => state.storage.getAlarm());

describe("PATCH /campaigns/{id}", () => {
  it("changes item and start while scheduled, and re-arms the board's alarm for the new start", async () => {
    const campaign = await createCampaign({ start: Date.now() + HOUR, end: Date.now() + 3 * HOUR });
    const id = campaign.campaignId;
    const itemId = uniqueId();
    const start = new Date(Date.now() + 2 * HOUR).toISOString();
    const { status, body } = await callJson("PATCH", `/campaigns/${id}`, { token: await adminToken(), body: { itemId, startDateTime: start } });
    expect(status).toBe(200);
    expect(body.campaign).toMatchObject({ campaignId: id, itemId, startDateTime: start, status: "scheduled" });
    expect((await callJson("GET", `/campaigns/${id}`)).body.campaign).toMatchObject({ itemId, startDateTime: start });
    expect(await alarmOf(id)).toBe(Date.parse(start));
    const state = await boardStub(env, id).state();
    expect(state.ok && state.value.terms.itemId).toBe(itemId);
  });

  it("moves the end and the prizes of an active campaign, and refuses its item and start (409)", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    // Publish the due Start now rather than wait for workerd's own alarm clock, which a shifted test clock does not move.
    await runDurableObjectAlarm(boardStub(env, id));
    const token = await adminToken();
    const end = new Date(Date.now() + 5 * HOUR).toISOString();
    const prizes = [{ fromPosition: 1, toPosition: 3, prize: { value: "7.00", currency: "EUR" } }];
    const edited = await callJson("PATCH", `/campaigns/${id}`, { token, body: { endDateTime: end, prize: { value: "60.00", currency: "EUR" }, prizes } });
    expect(edited.status).toBe(200);
    expect(edited.body.campaign).toMatchObject({ endDateTime: end, prize: { value: "60.00", currency: "EUR" }, prizes, status: "active" });
    expect(await alarmOf(id)).toBe(Date.parse(end));
    expect((await callJson("PATCH", `/campaigns/${id}`, { token, body: { itemId: "5" } })).status).toBe(409);
    expect((await callJson("PATCH", `/campaigns/${id}`, { token, body: { startDateTime: new Date().toISOString() } })).status).toBe(409);
    const currency = await callJson("PATCH", `/campaigns/${id}`, { token, body: { prize: { value: "1.00", currency: "USD" } } });
    expect(currency.status).toBe(422);
    expect(currency.body.errors[0].path).toBe("prize.currency");
    expect((await callJson("PATCH", `/campaigns/${id}`, { token, body: { endDateTime: new Date(Date.now() - HOUR).toISOString() } })).status).toBe(422);
    expect((await callJson("PATCH", `/campaigns/${id}`, { token, body: {} })).status).toBe(400);
    expect((await callJson("GET", `/campaigns/${id}`)).body.campaign).toMatchObject({ endDateTime: end, prize: { value: "60.00", currency: "EUR" } });
  });

  it("refuses every edit once the campaign has ended, and non-admins", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    const token = await adminToken();
    await callJson("POST", `/campaigns/${id}/end`, { token });
    const refused = await callJson("PATCH", `/campaigns/${id}`, { token, body: { prize: { value: "1.00", currency: "EUR" } } });
    expect(refused.status).toBe(409);
    expect((await callJson("PATCH", `/campaigns/${id}`, { body: { prize: { value: "1.00", currency: "EUR" } } })).status).toBe(401);
    expect((await callJson("PATCH", "/campaigns/987654321", { token, body: { prize: { value: "1.00", currency: "EUR" } } })).status).toBe(404);
  });
});
