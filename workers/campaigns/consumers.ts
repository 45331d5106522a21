import type { BoardPurchase } from "../../shared/campaigns.ts";
import { log } from "../../shared/log.ts";
import { QUEUE_MESSAGE_SCHEMAS, type QualifiedPurchaseMessage, type QueueMessage } from "../../shared/messages.ts";
import { convertMoney, MAX_AMOUNT_MINOR } from "../../shared/money.ts";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";
import { ackOrRetryGroup, messagesOfKind, retryLater, sendAll } from "../queue-kit.ts";
import { campaignsByIds, campaignsForItems, qualifies } from "./catalogue.ts";
import { RateBook } from "./exchange-rates.ts";
import { forgetTop } from "./top-cache.ts";
import { adCampaignExhausted } from "../../shared/webhooks/events.ts";
import { publishEvent } from "../../shared/webhooks/publish.ts";

/**
 * purchase-events → qualified-purchase-events: matches each purchase's item and event time
 * against the catalogue (one D1 query per batch, so a campaign created a moment ago is never
 * missed) and emits one message per (purchase, campaign).
 */
export async function qualifyPurchases(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["purchase-events"]);
  await ackOrRetryGroup(batch.queue, messages, async () => {
    const items = [...new Set(messages.map((m) => m.body.itemId))];
    const campaigns = await campaignsForItems(env.DB, items);
    const qualified: QualifiedPurchaseMessage[] = [];
    for (const { body } of messages) {
      for (const campaign of campaigns) {
        if (!qualifies(campaign, body.itemId, body.timestamp)) continue;
        qualified.push({
          kind: "qualified-purchase",
          purchaseId: body.purchaseId,
          campaignId: String(campaign.campaignId),
          userId: body.userId,
          amount: body.amount,
          timestamp: body.timestamp,
          // The purchase's request id travels on, so the board's log line names it.
          ...(body.httpRequestId === undefined ? {} : { httpRequestId: body.httpRequestId }),
        });
      }
    }
    await sendAll(env.QUALIFIED_PURCHASE_EVENTS, qualified);
  });
}

/**
 * qualified-purchase-events → CampaignBoard: converts each amount into the campaign's currency
 * (latest rate in force at the purchase's event time, half-even, once) and applies each
 * campaign's share of the batch in one RPC. A purchase whose rate is missing is retried alone;
 * when its retries run out the platform moves it to the dead-letter queue.
 */
export async function applyQualifiedPurchases(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["qualified-purchase-events"]);
  if (messages.length === 0) return;
  const campaigns = new Map(
    (await campaignsByIds(env.DB, [...new Set(messages.map((m) => m.body.campaignId))])).map((row) => [String(row.campaignId), row]),
  );
  const rates = new RateBook(env.DB);
  const groups = new Map<string, { messages: Message<QualifiedPurchaseMessage>[]; purchases: BoardPurchase[] }>();
  for (const message of messages) {
    const { body } = message;
    const campaign = campaigns.get(body.campaignId);
    if (!campaign) {
      log("warn", "qualified purchase names an unknown campaign; retrying", { system: "campaigns", requestId: body.httpRequestId, purchaseId: body.purchaseId, campaignId: body.campaignId });
      retryLater(message);
      continue;
    }
    let amount = body.amount;
    if (amount.currency !== campaign.currency) {
      const rate = await rates.find(amount.currency, campaign.currency, body.timestamp);
      if (!rate) {
        log("warn", "no exchange rate in force at the purchase's time; retrying", { system: "campaigns", requestId: body.httpRequestId, purchaseId: body.purchaseId, campaignId: body.campaignId, from: amount.currency, to: campaign.currency, at: new Date(body.timestamp).toISOString() });
        retryLater(message);
        continue;
      }
      amount = convertMoney(amount, campaign.currency, rate.rate, rate.inverse);
      if (amount.minor > MAX_AMOUNT_MINOR) {
        // Past the bound every total relies on to stay exact; an admin decides in the dead letters.
        log("warn", "converted purchase amount is over the bound; retrying", { system: "campaigns", requestId: body.httpRequestId, purchaseId: body.purchaseId, campaignId: body.campaignId, minor: amount.minor, currency: amount.currency });
        retryLater(message);
        continue;
      }
    }
    const group = groups.get(body.campaignId) ?? { messages: [], purchases: [] };
    group.messages.push(message);
    group.purchases.push({
      purchaseId: body.purchaseId,
      userId: body.userId,
      amount,
      timestamp: body.timestamp,
      ...(body.httpRequestId === undefined ? {} : { httpRequestId: body.httpRequestId }),
    });
    groups.set(body.campaignId, group);
  }
  await Promise.all(
    [...groups].map(([campaignId, group]) =>
      ackOrRetryGroup(batch.queue, group.messages, async () => {
        const result = await boardStub(env, campaignId).apply(group.purchases);
        if (!result.ok) throw new Error(`board ${campaignId} refused the batch: ${result.detail}`);
        forgetTop(campaignId);
      }),
    ),
  );
}

/**
 * campaign-lifecycle: Start/End of scoring campaigns (and ad campaigns' status changes) for
 * downstream listeners. Qualification reads the catalogue per batch, so there is no cache to
 * refresh here; the messages are logged, an ad campaign's `exhausted` goes to webhooks as
 * `ad-campaign.exhausted`, and they are acknowledged (retried together if that publish fails).
 */
export async function onCampaignLifecycle(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const messages = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["campaign-lifecycle"]);
  await ackOrRetryGroup(batch.queue, messages, async () => {
    for (const { body } of messages) {
      if (body.kind === "campaign-lifecycle") log("info", `campaign ${body.status}`, { system: "campaigns", requestId: body.httpRequestId, campaignId: body.campaignId });
    }
    const exhausted = messages.flatMap(({ body }) =>
      body.kind === "ad-campaign-lifecycle" && body.status === "exhausted" ? [adCampaignExhausted(body.adCampaignId, body.at)] : [],
    );
    await publishEvent(env, exhausted);
  });
}
