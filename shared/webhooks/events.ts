/**
 * The events webhooks receive and how each is built from its source. An event's `id` and
 * `createdAt` come from the source alone (the request, award, campaign or status change it
 * reports), so a redelivered source batch builds the very same event and receivers, which dedupe
 * by `id`, see it once. No builder takes a location: none may ever reach a payload. What leaves
 * to a webhook is only what its users consented to (issue #24, finding 3): party ids of a
 * connection only through `connection.shared`, an award's user and reward only where the
 * employer opted in. The queues keep carrying what Tally's own consumers need.
 */
import { inArray } from "drizzle-orm";
import { d1Chunks } from "../db/chunks.ts";
import { database, schema } from "../db/client.ts";
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

/**
 * `connection.established`, from a message of the `established-connections` queue: zip, day and
 * counts only. Who met whom goes out only with `connection.shared`, once both parties consented.
 */
export function connectionEstablished(message: EstablishedConnectionMessage): WebhookEvent {
  return event("connection.established", message.requestId, message.establishedAt, {
    requestId: message.requestId,
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

/**
 * `incentive.awarded`, from a message of the `incentive-awards` queue. `userId` and `reward` (whose
 * text can say much about a person: a pregnancy pillow for a reported birth) are included only
 * when `shareDetails`, the employer incentive's `shareWithWebhooks` opt-in.
 */
export function incentiveAwarded(award: IncentiveAwardMessage, shareDetails: boolean): WebhookEvent {
  return event("incentive.awarded", award.awardId, award.awardedAt, {
    awardId: award.awardId,
    ...(shareDetails ? { userId: award.userId } : {}),
    employerId: award.employerId,
    employerIncentiveId: award.employerIncentiveId,
    incentiveId: award.incentiveId,
    ...(shareDetails ? { reward: award.reward } : {}),
  });
}

/**
 * `incentive.awarded` for each award, each with its employer incentive's opt-in as it stands now
 * (read from D1; an employer incentive not found shares nothing).
 */
export async function incentiveAwardedEvents(d1: D1Database, awards: readonly IncentiveAwardMessage[]): Promise<WebhookEvent[]> {
  if (awards.length === 0) return [];
  const t = schema.employerIncentives;
  const sharing = new Set<string>();
  const ids = [...new Set(awards.map((award) => Number(award.employerIncentiveId)))].filter(Number.isSafeInteger);
  for (const part of d1Chunks(ids, 1)) {
    const rows = await database(d1).select({ id: t.employerIncentiveId, share: t.shareWithWebhooks }).from(t).where(inArray(t.employerIncentiveId, part));
    for (const row of rows) if (row.share) sharing.add(String(row.id));
  }
  return awards.map((award) => incentiveAwarded(award, sharing.has(award.employerIncentiveId)));
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
