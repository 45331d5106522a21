/**
 * Every queue message body, as a zod schema with its type inferred from it. Each carries a `kind`
 * (so a dead letter can be re-driven to the queue it came from) and the id of the event it belongs
 * to (so every effect can be keyed by it). The queue kit validates each delivered message against
 * its queue's schema (`QUEUE_MESSAGE_SCHEMAS`), so a consumer only ever sees well-formed bodies.
 *
 * Every message may also carry `httpRequestId`: the `x-request-id` of the HTTP request that
 * enqueued the work (directly or through earlier queues), so a consumer's log lines name it. It is
 * not called `requestId` because an established connection's `requestId` is the connection
 * request's id, older than this field and kept by messages already queued and dead letters.
 */
import { z } from "zod";

/** Money as stored and queued: integer minor units of an ISO currency. */
// zod 4: `int()` is a safe integer, and `number()` refuses Infinity and NaN.
const queuedMoney = z.object({ minor: z.number().int(), currency: z.string() });

/** A finite number: epoch ms, counts. */
const finite = z.number();

/** The request id a message carries from the HTTP request behind it, optional: older messages lack it. */
const traced = { httpRequestId: z.string().optional() };

export const purchaseMessage = z.object({
  kind: z.literal("purchase"),
  purchaseId: z.string(),
  userId: z.string(),
  itemId: z.string(),
  amount: queuedMoney,
  /** Event time of the purchase, epoch ms. */
  timestamp: finite,
  ...traced,
});
export type PurchaseMessage = z.infer<typeof purchaseMessage>;

export const qualifiedPurchaseMessage = z.object({
  kind: z.literal("qualified-purchase"),
  purchaseId: z.string(),
  campaignId: z.string(),
  userId: z.string(),
  amount: queuedMoney,
  timestamp: finite,
  ...traced,
});
export type QualifiedPurchaseMessage = z.infer<typeof qualifiedPurchaseMessage>;

export const campaignLifecycleMessage = z.object({
  kind: z.literal("campaign-lifecycle"),
  campaignId: z.string(),
  status: z.enum(["Start", "End"]),
  at: finite,
  ...traced,
});
export type CampaignLifecycleMessage = z.infer<typeof campaignLifecycleMessage>;

export const adCampaignLifecycleMessage = z.object({
  kind: z.literal("ad-campaign-lifecycle"),
  adCampaignId: z.string(),
  status: z.string(),
  at: finite,
  ...traced,
});
export type AdCampaignLifecycleMessage = z.infer<typeof adCampaignLifecycleMessage>;

/** A closed UTC day of one ad campaign, for the payments service; `(date, adCampaignId)` is unique. */
export const adBillingDayMessage = z.object({
  kind: z.literal("ad-billing-day"),
  date: z.string(),
  adCampaignId: z.string(),
  advertiserId: z.string(),
  impressions: finite,
  clicks: finite,
  chargedClicks: finite,
  spend: queuedMoney,
  /**
   * `ad-billing:<date>:<adCampaignId>`, the same for every publication of the row: the consumer
   * applies each key once. Optional: a message sent before the key existed derives the same key.
   */
  dedupeKey: z.string().optional(),
  ...traced,
});
export type AdBillingDayMessage = z.infer<typeof adBillingDayMessage>;

export const incentiveEventMessage = z.object({
  kind: z.literal("incentive-event"),
  eventId: z.string(),
  userId: z.string(),
  employerId: z.string(),
  event: z.string(),
  timestamp: finite,
  // Optional for messages queued before the field existed; consumers read it as `?? 0`.
  utcOffsetMinutes: z.number().int().optional(),
  ...traced,
});
export type IncentiveEventMessage = z.infer<typeof incentiveEventMessage>;

/**
 * Evaluate every user with history for (employer, event) against that employer's incentives for
 * the event: sent when an incentive is attached (or its rule changes). Each message handles one
 * page of users after `afterUserId` and sends the next page's message itself.
 */
export const incentiveEvaluateMessage = z.object({
  kind: z.literal("incentive-evaluate"),
  employerId: z.string(),
  event: z.string(),
  /** The page starts after this user id; null for the first page. */
  afterUserId: z.string().nullable(),
  ...traced,
});
export type IncentiveEvaluateMessage = z.infer<typeof incentiveEvaluateMessage>;

export const incentiveAwardMessage = z.object({
  kind: z.literal("incentive-award"),
  awardId: z.string(),
  userId: z.string(),
  employerId: z.string(),
  employerIncentiveId: z.string(),
  incentiveId: z.string(),
  reward: z.object({ description: z.string() }),
  awardedAt: finite,
  /** The incentive event whose arrival made the rule hold. */
  eventId: z.string(),
  ...traced,
});
export type IncentiveAwardMessage = z.infer<typeof incentiveAwardMessage>;

export const establishedConnectionMessage = z.object({
  kind: z.literal("established-connection"),
  /** The connection request's id (not the HTTP request's: that is `httpRequestId`). */
  requestId: z.string(),
  citizenId: z.string(),
  officerId: z.string(),
  zip: z.string(),
  pointsEach: z.number().int(),
  establishedAt: finite,
  ...traced,
});
export type EstablishedConnectionMessage = z.infer<typeof establishedConnectionMessage>;

/** An accepted Allezon user tag, on its way to its cookie's profile and its hour's aggregates. */
export const userTagMessage = z.object({
  kind: z.literal("user-tag"),
  /** Hash of the canonical tag: tags carry no id, and a resend or redelivery must count once. */
  tagId: z.string(),
  /** Event time, epoch ms. */
  time: finite,
  cookie: z.string(),
  action: z.enum(["VIEW", "BUY"]),
  origin: z.string(),
  brandId: z.string(),
  categoryId: z.string(),
  price: finite,
  /** The tag as stored and echoed by /user_profiles. */
  json: z.string(),
  /** When Tally accepted it (epoch ms): an erase of the cookie drops the tags accepted up to then. */
  acceptedAt: finite,
  ...traced,
});
export type UserTagMessage = z.infer<typeof userTagMessage>;

/** One event on its way to one webhook; retried by its consumer until delivered or 24 h passed. */
export const webhookDeliveryMessage = z.object({
  kind: z.literal("webhook-delivery"),
  webhookId: z.string(),
  /** The event exactly as POSTed: its `id` is stable across retries, so receivers dedupe by it. */
  event: z.object({ id: z.string(), type: z.string(), createdAt: z.string(), data: z.record(z.string(), z.unknown()) }),
  /** When it was queued (epoch ms): retries stop 24 h after it. */
  queuedAt: finite,
  ...traced,
});
export type WebhookDeliveryMessage = z.infer<typeof webhookDeliveryMessage>;

/** Every message body any queue carries. */
export const queueMessage = z.discriminatedUnion("kind", [
  purchaseMessage,
  qualifiedPurchaseMessage,
  campaignLifecycleMessage,
  adCampaignLifecycleMessage,
  adBillingDayMessage,
  incentiveEventMessage,
  incentiveEvaluateMessage,
  incentiveAwardMessage,
  establishedConnectionMessage,
  userTagMessage,
  webhookDeliveryMessage,
]);
export type QueueMessage = z.infer<typeof queueMessage>;

export type QueueMessageKind = QueueMessage["kind"];

/**
 * What each consumed queue carries: one schema, a discriminated union on `kind` where a queue
 * carries several kinds. The dead-letter queue takes any body (it keeps what it cannot parse too).
 */
export const QUEUE_MESSAGE_SCHEMAS = {
  "purchase-events": purchaseMessage,
  "qualified-purchase-events": qualifiedPurchaseMessage,
  "campaign-lifecycle": z.discriminatedUnion("kind", [campaignLifecycleMessage, adCampaignLifecycleMessage]),
  "incentive-events": z.discriminatedUnion("kind", [incentiveEventMessage, incentiveEvaluateMessage]),
  "incentive-awards": incentiveAwardMessage,
  "established-connections": establishedConnectionMessage,
  "user-tags": userTagMessage,
  "ad-billing": adBillingDayMessage,
  "webhook-deliveries": webhookDeliveryMessage,
} as const;

/** The producer binding each kind of message is sent on; re-driving a dead letter uses it. */
export const QUEUE_BINDING_OF_KIND = {
  purchase: "PURCHASE_EVENTS",
  "qualified-purchase": "QUALIFIED_PURCHASE_EVENTS",
  "campaign-lifecycle": "CAMPAIGN_LIFECYCLE",
  "ad-campaign-lifecycle": "CAMPAIGN_LIFECYCLE",
  "ad-billing-day": "AD_BILLING",
  "incentive-event": "INCENTIVE_EVENTS",
  "incentive-evaluate": "INCENTIVE_EVENTS",
  "incentive-award": "INCENTIVE_AWARDS",
  "established-connection": "ESTABLISHED_CONNECTIONS",
  "user-tag": "USER_TAGS",
  "webhook-delivery": "WEBHOOK_DELIVERIES",
} as const satisfies Record<QueueMessageKind, keyof Env>;
