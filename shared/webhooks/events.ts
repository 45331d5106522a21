/**
 * The events webhooks receive and how each is built from its source. An event's `id` and
 * `createdAt` come from the source alone (the request, award, campaign or status change it
 * reports), so a redelivered source batch builds the very same event and receivers, which dedupe
 * by `id`, see it once. No builder takes a location: none may ever reach a payload.
 */
import type { EstablishedConnectionMessage, IncentiveAwardMessage, WebhookDeliveryMessage } from "../messages.ts";
import { toMoneyJson } from "../money.ts";
import { toIso, utcDate } from "../time.ts";

export const WEBHOOK_EVENT_TYPES = [
  "connection.established",
  "connection.shared",
  "incentive.awarded",
  "campaign.settled",
  "ad-campaign.exhausted",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An event as POSTed to a webhook: `{"id","type","createdAt","data"}`. */
export type WebhookEvent = WebhookDeliveryMessage["event"] & { type: WebhookEventType };

function event(type: WebhookEventType, key: string, at: number, data: Record<string, unknown>): WebhookEvent {
  return { id: `${type}:${key}`, type, createdAt: toIso(at), data };
}

/** `connection.established`, from a message of the `established-connections` queue. */
export function connectionEstablished(message: EstablishedConnectionMessage): WebhookEvent {
  return event("connection.established", message.requestId, message.establishedAt, {
    requestId: message.requestId,
    citizenId: message.citizenId,
    officerId: message.officerId,
    zip: message.zip,
    day: utcDate(message.establishedAt),
    pointsEach: message.pointsEach,
  });
}

export interface SharedConnection {
  requestId: string;
  zip: string;
  establishedAt: number;
  /** When the second party consented: the event's time. */
  sharedAt: number;
  citizen: { userId: string; displayName: string | null };
  officer: { userId: string; displayName: string | null };
}

/** `connection.shared`: public profile data only (names, zip, UTC day). */
export function connectionShared(shared: SharedConnection): WebhookEvent {
  return event("connection.shared", shared.requestId, shared.sharedAt, {
    requestId: shared.requestId,
    zip: shared.zip,
    day: utcDate(shared.establishedAt),
    citizen: shared.citizen,
    officer: shared.officer,
  });
}

/** `incentive.awarded`, from a message of the `incentive-awards` queue. */
export function incentiveAwarded(award: IncentiveAwardMessage): WebhookEvent {
  return event("incentive.awarded", award.awardId, award.awardedAt, {
    awardId: award.awardId,
    userId: award.userId,
    employerId: award.employerId,
    employerIncentiveId: award.employerIncentiveId,
    incentiveId: award.incentiveId,
    reward: award.reward,
  });
}

export interface SettledPlacing {
  position: number;
  userId: string;
  totalMinor: number;
  prizeMinor: number;
}

/** `campaign.settled`: the winners a campaign's board decided, with their totals and prizes. */
export function campaignSettled(campaignId: string, decidedAt: number, currency: string, placings: readonly SettledPlacing[]): WebhookEvent {
  return event("campaign.settled", campaignId, decidedAt, {
    campaignId,
    winners: placings.map((placing) => ({
      position: placing.position,
      userId: placing.userId,
      total: toMoneyJson({ minor: placing.totalMinor, currency }),
      prize: toMoneyJson({ minor: placing.prizeMinor, currency }),
    })),
  });
}

/** `ad-campaign.exhausted`: its total budget is spent (keyed by the change's time: a raised budget can end it again). */
export function adCampaignExhausted(adCampaignId: string, at: number): WebhookEvent {
  return event("ad-campaign.exhausted", `${adCampaignId}:${at}`, at, { adCampaignId });
}
