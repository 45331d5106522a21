/**
 * A user's ad impressions per UTC day of arrival (the day the impression reached Tally, which is
 * also the day serving checks), for frequency caps: the seed's daily user-catalog view counts that
 * the serving flow filters on. They come from the campaign's `ImpressionOutbox`. One row per
 * impression keyed by its event id, so an impression handed over twice counts once; days before
 * yesterday are dropped as new ones arrive, so the table holds about two days.
 */
import { rows } from "../sql.ts";

export const AD_IMPRESSIONS_SCHEMA = [
  `CREATE TABLE ad_impressions (
     ad_campaign_id TEXT NOT NULL,
     event_id TEXT NOT NULL,
     day INTEGER NOT NULL,
     PRIMARY KEY (ad_campaign_id, event_id)
   )`,
  "CREATE INDEX ad_impressions_by_day ON ad_impressions (day, ad_campaign_id)",
] as const;

export interface AdImpression {
  adCampaignId: string;
  eventId: string;
  /** The UTC day the impression reached Tally (its arrival, not its event time), days since the epoch. */
  day: number;
}

export class AdImpressionCounts {
  constructor(private readonly sql: SqlStorage) {}

  /** Records an impression once per (campaign, event id); returns whether it was new. */
  record(impression: AdImpression): boolean {
    const cursor = this.sql.exec(
      "INSERT INTO ad_impressions (ad_campaign_id, event_id, day) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      impression.adCampaignId,
      impression.eventId,
      impression.day,
    );
    const inserted = cursor.rowsWritten > 0;
    if (inserted) this.sql.exec("DELETE FROM ad_impressions WHERE day < ?", impression.day - 1);
    return inserted;
  }

  /** Impressions per ad campaign on `day`. */
  countsOn(day: number): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const row of rows<{ ad_campaign_id: string; n: number }>(
      this.sql,
      "SELECT ad_campaign_id, COUNT(*) AS n FROM ad_impressions WHERE day = ? GROUP BY ad_campaign_id",
      day,
    )) {
      counts[row.ad_campaign_id] = row.n;
    }
    return counts;
  }
}
