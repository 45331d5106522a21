/**
 * The pure rules of an ad campaign: its status at a moment, what a click may be charged, whether
 * a click repeats a recent one, and when the object must next wake up. The `AdCampaign` object
 * applies them; keeping them here lets them be tested and read without the runtime.
 */
import { DAY_MS, nextUtcMidnight, utcDayNumber } from "../../shared/time.ts";

export const AD_CAMPAIGN_STATUSES = ["scheduled", "active", "paused", "exhausted_today", "exhausted", "ended"] as const;
export type AdCampaignStatus = (typeof AD_CAMPAIGN_STATUSES)[number];

export const AD_EVENT_TYPES = ["impression", "view", "click"] as const;
export type AdEventType = (typeof AD_EVENT_TYPES)[number];

export const PACINGS = ["asap", "even"] as const;
export type Pacing = (typeof PACINGS)[number];

/** Why a click was recorded but not charged. */
export type NoChargeReason = "duplicate_click" | "inactive" | "budget_exhausted";

/** A second charge for the same visitor is refused while their clicks are closer than this (event time). */
export const DUPLICATE_CLICK_WINDOW_MS = 30_000;

/** What an advertiser defines; money is integer minor units of `currency`. */
export interface AdCampaignDefinition {
  adCampaignId: string;
  advertiserId: string;
  name: string;
  currency: string;
  cpcMinor: number;
  dailyBudgetMinor: number | null;
  totalBudgetMinor: number;
  startAt: number;
  endAt: number | null;
  createdAt: number;
  /** Impressions per user per UTC day after which serving skips the campaign for that user; null when uncapped. */
  frequencyCap: number | null;
  /** `even` spreads the daily budget over the UTC day (serving only; it requires a daily budget). */
  pacing: Pacing;
}

/** What the object has spent and whether an admin paused it. */
export interface Spending {
  paused: boolean;
  /** The UTC day (days since the epoch) that `spentTodayMinor` belongs to. */
  spentDay: number;
  spentTodayMinor: number;
  spentTotalMinor: number;
}

/** A new campaign's spending: nothing spent, not paused. */
export function freshSpending(now: number): Spending {
  return { paused: false, spentDay: utcDayNumber(now), spentTodayMinor: 0, spentTotalMinor: 0 };
}

/**
 * A new campaign's status: `scheduled`, `active` or (for a past end) `ended`. The create route
 * writes it to D1 and the object starts from it, so both decide it here.
 */
export function initialStatus(definition: AdCampaignDefinition, now: number): AdCampaignStatus {
  return statusAt(definition, freshSpending(now), now);
}

/** The daily spend as seen at `now`: a spend recorded on an earlier UTC day counts as zero. */
export function spentToday(spending: Spending, now: number): number {
  return spending.spentDay === utcDayNumber(now) ? spending.spentTodayMinor : 0;
}

/** What is left of the daily budget at `now`, or null when the campaign has no daily budget. */
export function remainingToday(definition: AdCampaignDefinition, spending: Spending, now: number): number | null {
  if (definition.dailyBudgetMinor === null) return null;
  return Math.max(0, definition.dailyBudgetMinor - spentToday(spending, now));
}

export function remainingTotal(definition: AdCampaignDefinition, spending: Spending): number {
  return Math.max(0, definition.totalBudgetMinor - spending.spentTotalMinor);
}

/**
 * The status at `now`. The order says which fact wins when several hold: an ended campaign stays
 * ended, a spent total budget outranks a pause, a pause outranks the schedule, and the daily
 * budget only matters for a campaign that would otherwise be serving.
 */
export function statusAt(definition: AdCampaignDefinition, spending: Spending, now: number): AdCampaignStatus {
  if (definition.endAt !== null && now >= definition.endAt) return "ended";
  if (remainingTotal(definition, spending) === 0) return "exhausted";
  if (spending.paused) return "paused";
  if (now < definition.startAt) return "scheduled";
  if (remainingToday(definition, spending, now) === 0) return "exhausted_today";
  return "active";
}

/** Why a click on a campaign in `status` is not charged, or null when it may be. */
export function noChargeReason(status: AdCampaignStatus): NoChargeReason | null {
  if (status === "active") return null;
  return status === "exhausted" || status === "exhausted_today" ? "budget_exhausted" : "inactive";
}

/**
 * What one click is charged: the cost per click, cut down to what is left of either budget, so
 * the last charged click takes exactly the remainder and the sum never passes a budget.
 */
export function clickCharge(definition: AdCampaignDefinition, spending: Spending, now: number): number {
  const today = remainingToday(definition, spending, now);
  return Math.min(definition.cpcMinor, today ?? Number.POSITIVE_INFINITY, remainingTotal(definition, spending));
}

/** The spending after charging `amount` at `now` (the daily spend restarts on a new UTC day). */
export function afterCharge(spending: Spending, amount: number, now: number): Spending {
  return {
    paused: spending.paused,
    spentDay: utcDayNumber(now),
    spentTodayMinor: spentToday(spending, now) + amount,
    spentTotalMinor: spending.spentTotalMinor + amount,
  };
}

/**
 * Whether a click at `timestamp` repeats a charged click of the same visitor: closer than
 * `DUPLICATE_CLICK_WINDOW_MS` in event time, either side (late clicks arrive out of order).
 */
export function isWithinDuplicateWindow(timestamp: number, chargedClickTimestamp: number): boolean {
  return Math.abs(timestamp - chargedClickTimestamp) < DUPLICATE_CLICK_WINDOW_MS;
}

/**
 * Whom the duplicate-click window is kept for: the user when the event names one, else the ip,
 * else nobody (such clicks cannot be told apart and are each charged).
 */
export function visitorKey(userId: string | null, ip: string | null): string | null {
  if (userId !== null) return `user:${userId}`;
  if (ip !== null) return `ip:${ip}`;
  return null;
}

/**
 * The next moment the status can change on its own: the start, the end, or (while a daily budget
 * can still run out or be renewed) the next 00:00 UTC. Null when nothing is left to wait for.
 */
export function nextScheduledMoment(definition: AdCampaignDefinition, status: AdCampaignStatus, now: number): number | null {
  if (status === "ended") return null;
  const moments: number[] = [];
  if (now < definition.startAt) moments.push(definition.startAt);
  if (definition.endAt !== null && now < definition.endAt) moments.push(definition.endAt);
  if (status !== "exhausted") moments.push(nextUtcMidnight(now));
  return moments.length > 0 ? Math.min(...moments) : null;
}

/**
 * Whether an `even` campaign may be served at `now`: its spend today is at most
 * `dailyBudget × (share of the UTC day elapsed) + cpc`. Always true for `asap` (and for a campaign
 * without a daily budget, which cannot be `even`). Exact in integers: the products pass 2^53.
 */
export function isWithinPace(definition: AdCampaignDefinition, spending: Spending, now: number): boolean {
  if (definition.pacing !== "even" || definition.dailyBudgetMinor === null) return true;
  const elapsed = BigInt(now - utcDayNumber(now) * DAY_MS);
  const day = BigInt(DAY_MS);
  const allowance = BigInt(definition.dailyBudgetMinor) * elapsed + BigInt(definition.cpcMinor) * day;
  return BigInt(spentToday(spending, now)) * day <= allowance;
}
