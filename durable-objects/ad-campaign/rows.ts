/**
 * The SQLite layout of an `AdCampaign` object and the mapping between its rows (and D1's
 * `ad_campaigns` rows) and the types the object works with.
 */
import type { schema } from "../../shared/db/client.ts";
import { firstRow } from "../sql.ts";
import type { AdCampaignDefinition, AdCampaignStatus, Pacing, Spending } from "./budget.ts";

/** Migration steps of the object's SQLite, applied once each in order (never edit a shipped step). */
export const AD_CAMPAIGN_SCHEMA = [
  `CREATE TABLE campaign (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     ad_campaign_id TEXT NOT NULL,
     advertiser_id TEXT NOT NULL,
     name TEXT NOT NULL,
     currency TEXT NOT NULL,
     cpc_minor INTEGER NOT NULL,
     daily_budget_minor INTEGER,
     total_budget_minor INTEGER NOT NULL,
     start_at INTEGER NOT NULL,
     end_at INTEGER,
     created_at INTEGER NOT NULL,
     paused INTEGER NOT NULL,
     spent_day INTEGER NOT NULL,
     spent_today_minor INTEGER NOT NULL,
     spent_total_minor INTEGER NOT NULL,
     status TEXT NOT NULL,
     status_changed_at INTEGER NOT NULL
   )`,
  `CREATE TABLE events (
     event_id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     user_id TEXT,
     ip TEXT,
     visitor TEXT,
     timestamp INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     charged_minor INTEGER,
     reason TEXT
   )`,
  "CREATE INDEX charged_clicks_by_visitor ON events (visitor, timestamp) WHERE charged_minor IS NOT NULL",
  `CREATE TABLE minute_counters (
     minute INTEGER PRIMARY KEY,
     impressions INTEGER NOT NULL,
     views INTEGER NOT NULL,
     clicks INTEGER NOT NULL,
     charged_clicks INTEGER NOT NULL,
     spend_minor INTEGER NOT NULL
   )`,
  `CREATE TABLE status_changes (
     changed_at INTEGER PRIMARY KEY,
     status TEXT NOT NULL,
     synced_at INTEGER
   )`,
  "ALTER TABLE campaign ADD COLUMN frequency_cap INTEGER",
  "ALTER TABLE campaign ADD COLUMN pacing TEXT NOT NULL DEFAULT 'asap'",
  "ALTER TABLE campaign ADD COLUMN last_event_day INTEGER",
  // `version` orders the states published to D1; `published_version` is the last one that landed.
  "ALTER TABLE campaign ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
  "ALTER TABLE campaign ADD COLUMN published_version INTEGER NOT NULL DEFAULT 0",
  // The billing job sums a day's events by arrival time.
  "CREATE INDEX events_by_received_at ON events (received_at)",
  // Impressions not yet counted by their viewer's `User` (`ImpressionOutbox`); `day` is the arrival day.
  "CREATE TABLE impression_outbox (event_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, day INTEGER NOT NULL)",
] as const;

/** The object's own SQLite `campaign` row (a leaderboard campaign's D1 row is `CampaignRow`). */
export type AdCampaignRow = {
  ad_campaign_id: string;
  advertiser_id: string;
  name: string;
  currency: string;
  cpc_minor: number;
  daily_budget_minor: number | null;
  total_budget_minor: number;
  start_at: number;
  end_at: number | null;
  created_at: number;
  paused: number;
  spent_day: number;
  spent_today_minor: number;
  spent_total_minor: number;
  status: string;
  status_changed_at: number;
  frequency_cap: number | null;
  pacing: string;
  last_event_day: number | null;
  version: number;
  published_version: number;
};

export type EventRow = {
  type: string;
  timestamp: number;
  user_id: string | null;
  ip: string | null;
  charged_minor: number | null;
  reason: string | null;
};

export type MinuteRow = {
  minute: number;
  impressions: number;
  views: number;
  clicks: number;
  charged_clicks: number;
  spend_minor: number;
};

/** A campaign's live state: the definition, what it spent, and the status last decided. */
export interface LiveState {
  definition: AdCampaignDefinition;
  spending: Spending;
  status: AdCampaignStatus;
  statusChangedAt: number;
  /** The latest UTC day with an event (published, so the billing job knows whom to ask). */
  lastEventDay: number | null;
  /** Bumped (strictly increasing) by every change D1 must learn: terms, spend, status, event day. */
  version: number;
  publishedVersion: number;
}

/** The object's live state as stored, or null before it was configured. */
export function readLiveState(sql: SqlStorage): LiveState | null {
  const row = firstRow<AdCampaignRow>(sql, "SELECT * FROM campaign");
  if (!row) return null;
  return {
    definition: {
      adCampaignId: row.ad_campaign_id,
      advertiserId: row.advertiser_id,
      name: row.name,
      currency: row.currency,
      cpcMinor: row.cpc_minor,
      dailyBudgetMinor: row.daily_budget_minor,
      totalBudgetMinor: row.total_budget_minor,
      startAt: row.start_at,
      endAt: row.end_at,
      createdAt: row.created_at,
      frequencyCap: row.frequency_cap,
      pacing: row.pacing as Pacing,
    },
    spending: {
      paused: row.paused === 1,
      spentDay: row.spent_day,
      spentTodayMinor: row.spent_today_minor,
      spentTotalMinor: row.spent_total_minor,
    },
    status: row.status as AdCampaignStatus,
    statusChangedAt: row.status_changed_at,
    lastEventDay: row.last_event_day,
    version: row.version,
    publishedVersion: row.published_version,
  };
}

/** The definition held by a D1 `ad_campaigns` row. */
export function definitionFromD1(row: typeof schema.adCampaigns.$inferSelect): AdCampaignDefinition {
  return {
    adCampaignId: String(row.adCampaignId),
    advertiserId: String(row.advertiserId),
    name: row.name,
    currency: row.currency,
    cpcMinor: row.cpcMinor,
    dailyBudgetMinor: row.dailyBudgetMinor,
    totalBudgetMinor: row.totalBudgetMinor,
    startAt: row.startAt,
    endAt: row.endAt,
    createdAt: row.createdAt,
    frequencyCap: row.frequencyCap,
    pacing: row.pacing as Pacing,
  };
}

/** The spending a D1 row last heard of from its object (the serving path reads it). */
export function spendingFromD1(row: typeof schema.adCampaigns.$inferSelect): Spending {
  return { paused: false, spentDay: row.spentDay, spentTodayMinor: row.spentTodayMinor, spentTotalMinor: row.spentTotalMinor };
}
