import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { boardStub } from "../../durable-objects/campaign-board/campaign-board.ts";
import type { EstablishedConnectionMessage, QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { createCampaign as createAdCampaign, sendEvent } from "../ads/helpers.ts";
import { createCampaign } from "../campaigns/support.ts";
import { connectOfficer, north, requestConnection, uniqueZip } from "../connections/support.ts";
import { attach, createIncentive, eventMessage, expectAllAcked } from "../incentives/helpers.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { type Received, registeredReceiver, type TestReceiver } from "./support.ts";
import { uniqueId } from "../support/ids.ts";
import { deliver } from "../support/queues.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

/** Waits until the receiver holds an event of `type` matching `match`, and returns its delivery. */
function receivedEvent(receiver: TestReceiver, type: string, match: (data: Record<string, unknown>) => boolean): Promise<Received> {
  return eventually(async () => receiver.ofType(type).find((delivery) => match(delivery.event.data)), 15_000);
}

/** No key named like a coordinate anywhere in a payload. */
function expectNoLocation(body: string): void {
  expect(body).not.toMatch(/"(lat|lng|latitude|longitude)"/);
}

function share(requestId: string, token: string) {
  return callJson("POST", `/connections/${requestId}/share`, { token });
}

describe("webhook events from their sources", () => {
  it("connection.established on the officer's accept, then connection.shared only once both parties consented, with names and no location", async () => {
    const { receiver } = await registeredReceiver(["connection.established", "connection.shared"]);
    const zip = uniqueZip();
    const officerId = uniqueId();
    const citizenId = uniqueId();
    const admin = await adminToken();
    await callJson("PUT", `/users/${officerId}/profile`, { token: admin, body: { displayName: "Officer Dana" } });
    await callJson("PUT", `/users/${citizenId}/profile`, { token: admin, body: { displayName: "Sam" } });
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    const requestId = await requestConnection(citizenId, { officerId, zip, ...north(HERE, 50) });
    await officer.next("connection-request");
    const citizenToken = await tokenFor(citizenId, ["citizen"]);
    const officerToken = await tokenFor(officerId, ["officer"]);

    // Pending: not shareable yet; only the two parties may share; an unknown request is 404.
    expect((await share(requestId, citizenToken)).status).toBe(409);
    officer.send({ type: "accept", requestId });
    await officer.next("connected");
    officer.close();

    const established = await receivedEvent(receiver, "connection.established", (data) => data.requestId === requestId);
    expect(established.event).toEqual({
      id: `connection.established:${requestId}`,
      type: "connection.established",
      createdAt: expect.stringMatching(/Z$/),
      data: { requestId, citizenId, officerId, zip, day: established.event.createdAt.slice(0, 10), pointsEach: 10 },
    });
    expectNoLocation(established.body);

    expect((await share(requestId, await tokenFor(uniqueId(), ["citizen"]))).status).toBe(403);
    expect((await share("no-such-request", citizenToken)).status).toBe(404);
    const first = await share(requestId, citizenToken);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ requestId, sharedBy: [citizenId] });
    // Idempotent per party.
    expect((await share(requestId, citizenToken)).body).toEqual({ requestId, sharedBy: [citizenId] });

    // One consent publishes nothing: a delivery would have arrived by now (the queue batches for 1 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(receiver.ofType("connection.shared")).toEqual([]);
    const beforeSecondConsent = Date.now();
    const both = await share(requestId, officerToken);
    expect(both.body).toEqual({ requestId, sharedBy: [citizenId, officerId] });

    const shared = await receivedEvent(receiver, "connection.shared", (data) => data.requestId === requestId);
    expect(shared.receivedAt).toBeGreaterThanOrEqual(beforeSecondConsent);
    expect(shared.event).toEqual({
      id: `connection.shared:${requestId}`,
      type: "connection.shared",
      createdAt: expect.stringMatching(/Z$/),
      data: {
        requestId,
        zip,
        day: established.event.data.day,
        citizen: { userId: citizenId, displayName: "Sam" },
        officer: { userId: officerId, displayName: "Officer Dana" },
      },
    });
    expectNoLocation(shared.body);
    // A repeated consent publishes the same event again (same id), which receivers dedupe.
    expect((await share(requestId, officerToken)).body).toEqual({ requestId, sharedBy: [citizenId, officerId] });
    expect(new Set(receiver.ofType("connection.shared").map((delivery) => delivery.event.id))).toEqual(new Set([shared.event.id]));
  });

  it("connection.established keeps its id and time when the established-connections batch is redelivered", async () => {
    const { receiver } = await registeredReceiver(["connection.established"]);
    const message: EstablishedConnectionMessage = {
      kind: "established-connection",
      requestId: `redelivered-${uniqueId()}`,
      citizenId: uniqueId(),
      officerId: uniqueId(),
      zip: uniqueZip(),
      pointsEach: 10,
      establishedAt: Date.now() - 5_000,
    };
    expectAllAcked(await deliver("established-connections", [message]), 1);
    const first = await receivedEvent(receiver, "connection.established", (data) => data.requestId === message.requestId);
    expectAllAcked(await deliver("established-connections", [message], { attempts: 2 }), 1);
    // Whatever reaches the receiver for this connection is the one event, byte for byte.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const all = receiver.ofType("connection.established").filter((delivery) => delivery.event.data.requestId === message.requestId);
    expect(all.map((delivery) => delivery.body)).toEqual(all.map(() => first.body));
  });

  it("campaign.settled with the winners once the board settles", async () => {
    const { receiver } = await registeredReceiver(["campaign.settled"]);
    const campaign = await createCampaign({ prize: { value: "40.00", currency: "EUR" } });
    const id = campaign.campaignId;
    const purchase = (userId: string, minor: number): QualifiedPurchaseMessage => ({
      kind: "qualified-purchase",
      purchaseId: crypto.randomUUID(),
      campaignId: id,
      userId,
      amount: { minor, currency: "EUR" },
      timestamp: Date.now() - 1000,
    });
    await deliver("qualified-purchase-events", [purchase("501", 700), purchase("502", 300)]);
    await callJson("POST", `/campaigns/${id}/end`, { token: await adminToken() });
    const settled = await eventually(async () => {
      await runDurableObjectAlarm(boardStub(env, id));
      return receiver.ofType("campaign.settled").find((delivery) => delivery.event.data.campaignId === id);
    }, 15_000);
    expect(settled.event).toEqual({
      id: `campaign.settled:${id}`,
      type: "campaign.settled",
      createdAt: expect.stringMatching(/Z$/),
      data: {
        campaignId: id,
        winners: [{ position: 0, userId: "501", total: { value: "7.00", currency: "EUR" }, prize: { value: "40.00", currency: "EUR" } }],
      },
    });
  });

  it("ad-campaign.exhausted when clicks spend the total budget", async () => {
    const { receiver } = await registeredReceiver(["ad-campaign.exhausted"]);
    const { adCampaignId } = await createAdCampaign({ cpc: { value: "0.50", currency: "EUR" }, totalBudget: { value: "1.00", currency: "EUR" } });
    for (const userId of ["601", "602"]) expect((await sendEvent({ adCampaignId, userId })).status).toBe(202);
    const exhausted = await receivedEvent(receiver, "ad-campaign.exhausted", (data) => data.adCampaignId === adCampaignId);
    expect(exhausted.event).toEqual({
      id: expect.stringMatching(new RegExp(`^ad-campaign\\.exhausted:${adCampaignId}:\\d+$`)),
      type: "ad-campaign.exhausted",
      createdAt: expect.stringMatching(/Z$/),
      data: { adCampaignId },
    });
  });

  it("incentive.awarded when an event makes an employer's rule hold", async () => {
    const { receiver } = await registeredReceiver(["incentive.awarded"]);
    const incentiveId = await createIncentive({ kind: "once", event: "hook-birth-reported" }, "Report a birth (webhooks)");
    const employerIncentiveId = await attach("330", "1", incentiveId, "Baby blanket");
    const userId = uniqueId();
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    expectAllAcked(await deliver("incentive-events", [eventMessage(`hook-birth-${userId}`, userId, "330", "hook-birth-reported", yesterday)]), 1);
    const awarded = await receivedEvent(receiver, "incentive.awarded", (data) => data.userId === userId);
    expect(awarded.event).toEqual({
      id: `incentive.awarded:${awarded.event.data.awardId}`,
      type: "incentive.awarded",
      createdAt: expect.stringMatching(/Z$/),
      data: {
        awardId: expect.any(String),
        userId,
        employerId: "330",
        employerIncentiveId,
        incentiveId,
        reward: { description: "Baby blanket" },
      },
    });
  });

  it("sends an event only to the webhooks subscribed to its type", async () => {
    const { receiver: settledOnly } = await registeredReceiver(["campaign.settled"]);
    const { receiver: connections } = await registeredReceiver(["connection.established"]);
    const message: EstablishedConnectionMessage = {
      kind: "established-connection",
      requestId: `subscribed-${uniqueId()}`,
      citizenId: uniqueId(),
      officerId: uniqueId(),
      zip: uniqueZip(),
      pointsEach: 10,
      establishedAt: Date.now(),
    };
    expectAllAcked(await deliver("established-connections", [message]), 1);
    await receivedEvent(connections, "connection.established", (data) => data.requestId === message.requestId);
    expect(settledOnly.received).toEqual([]);
  });
});
