import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import type { EstablishedConnectionMessage, QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { createCampaign as createAdCampaign, sendEvent } from "../ads/helpers.ts";
import { createCampaign } from "../campaigns/support.ts";
import { connectOfficer, north, requestConnection, uniqueZip } from "../connections/support.ts";
import { attach, createIncentive, eventMessage, expectAllAcked } from "../incentives/helpers.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";
import { deliver as deliverToQueue } from "../support/queues.ts";
import { callApp, type Received, recordingEnv, registeredReceiver, type TestReceiver } from "./support.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

/** Waits until the receiver holds an event of `type` matching `match`, and returns its delivery. */
function receivedEvent(receiver: TestReceiver, type: string, match: (data: Record<string, unknown>) => boolean): Promise<Received> {
  return eventually(async () => receiver.ofType(type).find((delivery) => match(delivery.event.data)), 15_000);
}

/** No key named like a coordinate anywhere in a payload. */
function expectNoLocation(body: string): void {
  expect(body).not.toMatch(/"(lat|lng|latitude|longitude)"/);
}

function share(requestId: string, token: string, withEnv?: Env) {
  return withEnv ? callApp(withEnv, "POST", `/connections/${requestId}/share`, { token }) : callJson("POST", `/connections/${requestId}/share`, { token });
}

/**
 * An established connection: its request row as `POST /connections` stores it, and the connection
 * recorded by the `established-connections` consumer as an accept would.
 */
async function establishedConnection(): Promise<EstablishedConnectionMessage> {
  const message: EstablishedConnectionMessage = {
    kind: "established-connection",
    requestId: `est-${uniqueId()}`,
    citizenId: uniqueId(),
    officerId: uniqueId(),
    zip: uniqueZip(),
    pointsEach: 10,
    establishedAt: Date.now() - 5_000,
  };
  await env.DB.prepare("INSERT INTO connection_requests (request_id, zip, citizen_id, officer_id, lat, lng, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(message.requestId, message.zip, message.citizenId, message.officerId, HERE.lat, HERE.lng, message.establishedAt - 10_000)
    .run();
  expectAllAcked(await deliverToQueue("established-connections", [message]), 1);
  return message;
}

describe("webhook events from their sources", () => {
  it("connection.established on the officer's accept without party ids, then connection.shared only once both parties consented, with names and no location", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established", "connection.shared"]);
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
      data: { requestId, zip, day: established.event.createdAt.slice(0, 10), pointsEach: 10 },
    });
    expectNoLocation(established.body);
    // Who met whom leaves only with connection.shared, after both consented.
    expect(established.body).not.toContain(`"${citizenId}"`);
    expect(established.body).not.toContain(`"${officerId}"`);

    expect((await share(requestId, await tokenFor(uniqueId(), ["citizen"]))).status).toBe(403);
    expect((await share("no-such-request", citizenToken)).status).toBe(404);
    const first = await share(requestId, citizenToken);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ requestId, sharedBy: [citizenId] });
    // Idempotent per party.
    expect((await share(requestId, citizenToken)).body).toEqual({ requestId, sharedBy: [citizenId] });

    // One consent publishes nothing (every message published is recorded as it is sent).
    const recording = recordingEnv();
    expect((await share(requestId, citizenToken, recording.env)).body).toEqual({ requestId, sharedBy: [citizenId] });
    expect(recording.sent).toEqual([]);
    const beforeSecondConsent = Date.now();
    const both = await share(requestId, officerToken, recording.env);
    expect(both.body).toEqual({ requestId, sharedBy: [citizenId, officerId] });
    expect(recording.sent.map((message) => [message.webhookId, message.event.id])).toEqual([[webhookId, `connection.shared:${requestId}`]]);

    // Handed to the delivery consumer as the queue would (the real queue has it too; receivers dedupe by id).
    expectAllAcked(await deliverToQueue("webhook-deliveries", recording.sent), 1);
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
    // A repeated consent publishes nothing more.
    expect((await share(requestId, officerToken, recording.env)).body).toEqual({ requestId, sharedBy: [citizenId, officerId] });
    expect(recording.sent).toHaveLength(1);
    expect(new Set(receiver.ofType("connection.shared").map((delivery) => delivery.event.id))).toEqual(new Set([shared.event.id]));
  });

  it("publishes connection.shared once, on the transition to both consents, however often either party calls share", async () => {
    const { webhookId } = await registeredReceiver(["connection.shared"]);
    const { requestId, citizenId, officerId } = await establishedConnection();
    const citizenToken = await tokenFor(citizenId, ["citizen"]);
    const officerToken = await tokenFor(officerId, ["officer"]);
    const recording = recordingEnv();
    expect((await share(requestId, citizenToken, recording.env)).status).toBe(200);
    for (let i = 0; i < 12; i++) {
      expect((await share(requestId, officerToken, recording.env)).status).toBe(200);
      expect((await share(requestId, citizenToken, recording.env)).status).toBe(200);
    }
    const mine = recording.sent.filter((message) => message.webhookId === webhookId);
    expect(mine.map((message) => message.event.id)).toEqual([`connection.shared:${requestId}`]);
  });

  it("completes a connection.shared publish that failed with the next share call, and only then", async () => {
    const { webhookId } = await registeredReceiver(["connection.shared"]);
    const { requestId, citizenId, officerId } = await establishedConnection();
    const citizenToken = await tokenFor(citizenId, ["citizen"]);
    const officerToken = await tokenFor(officerId, ["officer"]);
    // The queue refuses the first send: the second consent is recorded but its publish fails.
    const recording = recordingEnv({ failSends: 1 });
    expect((await share(requestId, citizenToken, recording.env)).status).toBe(200);
    expect((await share(requestId, officerToken, recording.env)).status).toBe(500);
    expect(recording.sent).toEqual([]);
    // Either party's next call publishes it; later calls publish nothing more.
    expect((await share(requestId, citizenToken, recording.env)).body).toEqual({ requestId, sharedBy: [citizenId, officerId] });
    expect((await share(requestId, officerToken, recording.env)).status).toBe(200);
    expect(recording.sent.filter((message) => message.webhookId === webhookId).map((message) => message.event.id)).toEqual([`connection.shared:${requestId}`]);
  });

  it("connection.established keeps its id and time when the established-connections batch is redelivered", async () => {
    const { receiver, webhookId } = await registeredReceiver(["connection.established"]);
    const message: EstablishedConnectionMessage = {
      kind: "established-connection",
      requestId: `redelivered-${uniqueId()}`,
      citizenId: uniqueId(),
      officerId: uniqueId(),
      zip: uniqueZip(),
      pointsEach: 10,
      establishedAt: Date.now() - 5_000,
    };
    const recording = recordingEnv();
    expectAllAcked(await deliverToQueue("established-connections", [message], { env: recording.env }), 1);
    expectAllAcked(await deliverToQueue("established-connections", [message], { env: recording.env, attempts: 2 }), 1);
    // Both runs published the one event, byte for byte (the body sent is the event's JSON).
    const mine = recording.sent.filter((sent) => sent.webhookId === webhookId);
    expect(mine).toHaveLength(2);
    expect(JSON.stringify(mine[1]!.event)).toBe(JSON.stringify(mine[0]!.event));
    // Delivered, whichever copy arrives first; the receiver sees that same body.
    expectAllAcked(await deliverToQueue("webhook-deliveries", mine), 2);
    const all = receiver.ofType("connection.established").filter((delivery) => delivery.event.data.requestId === message.requestId);
    expect(all.length).toBeGreaterThanOrEqual(1);
    expect(all.map((delivery) => delivery.body)).toEqual(all.map(() => JSON.stringify(mine[0]!.event)));
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
    await deliverToQueue("qualified-purchase-events", [purchase("501", 700), purchase("502", 300)]);
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

  it("incentive.awarded when an event makes an employer's rule hold: ids only, unless the employer incentive opts in to share the user and reward", async () => {
    const { receiver } = await registeredReceiver(["incentive.awarded"]);
    const incentiveId = await createIncentive({ kind: "once", event: "hook-birth-reported" }, "Report a birth (webhooks)");
    const privateLink = await attach("330", "1", incentiveId, "Pregnancy pillow");
    const employer = await tokenFor("9331", ["employer"], { employerId: "331" });
    const optedIn = await callJson("POST", "/employers/331/programs/1/incentives", {
      token: employer,
      body: { incentiveId, reward: { description: "Baby blanket" }, shareWithWebhooks: true },
    });
    expect(optedIn.status).toBe(201);
    expect(optedIn.body.employerIncentive.shareWithWebhooks).toBe(true);
    const sharedLink = optedIn.body.employerIncentive.employerIncentiveId as string;

    const userId = uniqueId();
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    expectAllAcked(
      await deliverToQueue("incentive-events", [
        eventMessage(`hook-birth-${userId}`, userId, "330", "hook-birth-reported", yesterday),
        eventMessage(`hook-birth-${userId}-331`, userId, "331", "hook-birth-reported", yesterday),
      ]),
      2,
    );
    const withheld = await receivedEvent(receiver, "incentive.awarded", (data) => data.employerIncentiveId === privateLink);
    expect(withheld.event).toEqual({
      id: `incentive.awarded:${withheld.event.data.awardId}`,
      type: "incentive.awarded",
      createdAt: expect.stringMatching(/Z$/),
      data: { awardId: expect.any(String), employerId: "330", employerIncentiveId: privateLink, incentiveId },
    });
    expect(withheld.body).not.toContain(`"${userId}"`);
    expect(withheld.body).not.toContain("Pregnancy pillow");

    const shared = await receivedEvent(receiver, "incentive.awarded", (data) => data.employerIncentiveId === sharedLink);
    expect(shared.event.data).toEqual({
      awardId: expect.any(String),
      userId,
      employerId: "331",
      employerIncentiveId: sharedLink,
      incentiveId,
      reward: { description: "Baby blanket" },
    });
  });

  it("sends an event only to the webhooks subscribed to its type", async () => {
    const { receiver: settledOnly, webhookId: settledOnlyId } = await registeredReceiver(["campaign.settled"]);
    const { receiver: connections, webhookId: connectionsId } = await registeredReceiver(["connection.established"]);
    const message: EstablishedConnectionMessage = {
      kind: "established-connection",
      requestId: `subscribed-${uniqueId()}`,
      citizenId: uniqueId(),
      officerId: uniqueId(),
      zip: uniqueZip(),
      pointsEach: 10,
      establishedAt: Date.now(),
    };
    const recording = recordingEnv();
    expectAllAcked(await deliverToQueue("established-connections", [message], { env: recording.env }), 1);
    const targets = recording.sent.filter((sent) => sent.event.data.requestId === message.requestId).map((sent) => sent.webhookId);
    expect(targets).toContain(connectionsId);
    expect(targets).not.toContain(settledOnlyId);
    await receivedEvent(connections, "connection.established", (data) => data.requestId === message.requestId);
    expect(settledOnly.received).toEqual([]);
  });
});
