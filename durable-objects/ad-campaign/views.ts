/**
 * The wire shapes of the ads API, written from the object's state or a D1 row, so the object and the
 * routes answer with the same JSON.
 */
import { toMoneyJson, type MoneyJson } from "../../shared/money.ts";
import { toIso } from "../../shared/time.ts";
import {
  remainingToday,
  remainingTotal,
  spentToday,
  type AdCampaignDefinition,
  type AdCampaignStatus,
  type NoChargeReason,
  type Pacing,
  type Spending,
} from "./budget.ts";
import { clickThroughRate, type Bucket, type Counters } from "./performance.ts";

export interface AdCampaignJson {
  adCampaignId: string;
  advertiserId: string;
  name: string;
  cpc: MoneyJson;
  dailyBudget?: MoneyJson;
  totalBudget: MoneyJson;
  startDateTime: string;
  endDateTime?: string;
  frequencyCap?: { impressionsPerUserPerDay: number };
  pacing: Pacing;
  status: AdCampaignStatus;
}

/** `GET /ads/campaigns/{id}`: the campaign with its live spend. */
export interface AdCampaignView extends AdCampaignJson {
  spentToday: MoneyJson;
  spentTotal: MoneyJson;
  remainingToday: MoneyJson | null;
  remainingTotal: MoneyJson;
}

/** The answer to `POST /ads/events`; a resend of the same event id gets the first one back. */
export interface AdEventAnswer {
  eventId: string;
  charged: MoneyJson | null;
  reason?: NoChargeReason;
}

export interface CountersJson {
  impressions: number;
  views: number;
  clicks: number;
  chargedClicks: number;
  ctr: string;
  spend: MoneyJson;
}

export interface PerformanceReport {
  totals: CountersJson;
  buckets: Array<CountersJson & { start: string }>;
}

/** The campaign as defined, with the status given. */
export function adCampaignJson(definition: AdCampaignDefinition, status: AdCampaignStatus): AdCampaignJson {
  const money = (minor: number) => toMoneyJson({ minor, currency: definition.currency });
  return {
    adCampaignId: definition.adCampaignId,
    advertiserId: definition.advertiserId,
    name: definition.name,
    cpc: money(definition.cpcMinor),
    ...(definition.dailyBudgetMinor !== null ? { dailyBudget: money(definition.dailyBudgetMinor) } : {}),
    totalBudget: money(definition.totalBudgetMinor),
    startDateTime: toIso(definition.startAt),
    ...(definition.endAt !== null ? { endDateTime: toIso(definition.endAt) } : {}),
    ...(definition.frequencyCap !== null ? { frequencyCap: { impressionsPerUserPerDay: definition.frequencyCap } } : {}),
    pacing: definition.pacing,
    status,
  };
}

export function adCampaignView(
  definition: AdCampaignDefinition,
  status: AdCampaignStatus,
  spending: Spending,
  now: number,
): AdCampaignView {
  const money = (minor: number) => toMoneyJson({ minor, currency: definition.currency });
  const today = remainingToday(definition, spending, now);
  return {
    ...adCampaignJson(definition, status),
    spentToday: money(spentToday(spending, now)),
    spentTotal: money(spending.spentTotalMinor),
    remainingToday: today === null ? null : money(today),
    remainingTotal: money(remainingTotal(definition, spending)),
  };
}

export function countersJson(counters: Counters, currency: string): CountersJson {
  return {
    impressions: counters.impressions,
    views: counters.views,
    clicks: counters.clicks,
    chargedClicks: counters.chargedClicks,
    ctr: clickThroughRate(counters.clicks, counters.impressions),
    spend: toMoneyJson({ minor: counters.spendMinor, currency }),
  };
}

export function performanceReport(totals: Counters, buckets: Bucket[], currency: string): PerformanceReport {
  return {
    totals: countersJson(totals, currency),
    buckets: buckets.map((bucket) => ({ start: toIso(bucket.start), ...countersJson(bucket, currency) })),
  };
}
