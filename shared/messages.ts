/**
 * Every queue message body. Each carries a `kind` (so a dead letter can be re-driven to the queue
 * it came from) and the id of the event it belongs to (so every effect can be keyed by it).
 */
import type { Money } from "./money.ts";

export interface PurchaseMessage {
  kind: "purchase";
  purchaseId: string;
  userId: string;
  itemId: string;
  amount: Money;
  /** Event time of the purchase, epoch ms. */
  timestamp: number;
}

export interface QualifiedPurchaseMessage {
  kind: "qualified-purchase";
  purchaseId: string;
  campaignId: string;
  userId: string;
  amount: Money;
  timestamp: number;
}

export interface CampaignLifecycleMessage {
  kind: "campaign-lifecycle";
  campaignId: string;
  status: "Start" | "End";
  at: number;
}

export interface AdCampaignLifecycleMessage {
  kind: "ad-campaign-lifecycle";
  adCampaignId: string;
  status: string;
  at: number;
}

/** A closed UTC day of one ad campaign, for the payments service; `(date, adCampaignId)` is unique. */
export interface AdBillingDayMessage {
  kind: "ad-billing-day";
  date: string;
  adCampaignId: string;
  advertiserId: string;
  impressions: number;
  clicks: number;
  chargedClicks: number;
  spend: Money;
  /** `ad-billing:<date>:<adCampaignId>`, the same for every publication of the row: the consumer applies each key once. */
  dedupeKey: string;
}

export interface IncentiveEventMessage {
  kind: "incentive-event";
  eventId: string;
  userId: string;
  employerId: string;
  event: string;
  timestamp: number;
  utcOffsetMinutes: number;
}

/**
 * Evaluate every user with history for (employer, event) against that employer's incentives for
 * the event: sent when an incentive is attached (or its rule changes). Each message handles one
 * page of users after `afterUserId` and sends the next page's message itself.
 */
export interface IncentiveEvaluateMessage {
  kind: "incentive-evaluate";
  employerId: string;
  event: string;
  /** The page starts after this user id; null for the first page. */
  afterUserId: string | null;
}

export interface IncentiveAwardMessage {
  kind: "incentive-award";
  awardId: string;
  userId: string;
  employerId: string;
  employerIncentiveId: string;
  incentiveId: string;
  reward: { description: string };
  awardedAt: number;
  /** The incentive event whose arrival made the rule hold. */
  eventId: string;
}

export interface EstablishedConnectionMessage {
  kind: "established-connection";
  requestId: string;
  citizenId: string;
  officerId: string;
  zip: string;
  pointsEach: number;
  establishedAt: number;
}

/** An accepted Allezon user tag, on its way to its cookie's profile and its hour's aggregates. */
export interface UserTagMessage {
  kind: "user-tag";
  /** Hash of the canonical tag: tags carry no id, and a resend or redelivery must count once. */
  tagId: string;
  /** Event time, epoch ms. */
  time: number;
  cookie: string;
  action: "VIEW" | "BUY";
  origin: string;
  brandId: string;
  categoryId: string;
  price: number;
  /** The tag as stored and echoed by /user_profiles. */
  json: string;
  /** When Tally accepted it (epoch ms): an erase of the cookie drops the tags accepted up to then. */
  acceptedAt: number;
}

/** One event on its way to one webhook; retried by its consumer until delivered or 24 h passed. */
export interface WebhookDeliveryMessage {
  kind: "webhook-delivery";
  webhookId: string;
  /** The event exactly as POSTed: its `id` is stable across retries, so receivers dedupe by it. */
  event: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  /** When it was queued (epoch ms): retries stop 24 h after it. */
  queuedAt: number;
}

export type QueueMessage =
  | PurchaseMessage
  | QualifiedPurchaseMessage
  | CampaignLifecycleMessage
  | AdCampaignLifecycleMessage
  | AdBillingDayMessage
  | IncentiveEventMessage
  | IncentiveEvaluateMessage
  | IncentiveAwardMessage
  | EstablishedConnectionMessage
  | UserTagMessage
  | WebhookDeliveryMessage;

export type QueueMessageKind = QueueMessage["kind"];

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
