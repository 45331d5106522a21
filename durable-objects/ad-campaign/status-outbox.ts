import { and, eq, lte } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import type { AdCampaignLifecycleMessage } from "../../shared/messages.ts";
import { rows } from "../sql.ts";
import type { AdCampaignStatus } from "./budget.ts";
import type { LiveState } from "./rows.ts";

/**
 * What an `AdCampaign` decided and has not yet told the world about: its state (terms, spend,
 * status, last event day) when `version` passed `publishedVersion`, and the status changes in its
 * `status_changes` table. Both are recorded in the same transaction as the charge, edit or pause
 * that caused them, so none is lost; `flush` then writes the state to D1's catalogue row (never
 * over a newer one: `version` strictly increases) and every pending change to
 * `campaign-lifecycle`, and marks them done. A failed flush leaves them pending for the next one.
 */
export class StatusOutbox {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly current: () => LiveState | null,
  ) {}

  /** Records a change decided at `changedAt` (strictly increasing per campaign). */
  add(changedAt: number, status: AdCampaignStatus): void {
    this.sql.exec("INSERT INTO status_changes (changed_at, status) VALUES (?, ?)", changedAt, status);
  }

  /**
   * Syncs what is pending. Runs one at a time, so the same change is never sent twice at once, and
   * callers that arrive while a sync runs share the one queued after it: 300 concurrent charged
   * clicks cost two D1 writes in flight, not 300.
   */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.syncPending();
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async syncPending(): Promise<void> {
    const live = this.current();
    if (!live) return;
    const adCampaignId = live.definition.adCampaignId;
    if (live.version > live.publishedVersion) {
      const { definition, spending, version } = live;
      const table = schema.adCampaigns;
      await database(this.env.DB)
        .update(table)
        .set({
          name: definition.name,
          cpcMinor: definition.cpcMinor,
          dailyBudgetMinor: definition.dailyBudgetMinor,
          totalBudgetMinor: definition.totalBudgetMinor,
          endAt: definition.endAt,
          frequencyCap: definition.frequencyCap,
          pacing: definition.pacing,
          status: live.status,
          statusChangedAt: live.statusChangedAt,
          spentDay: spending.spentDay,
          spentTodayMinor: spending.spentTodayMinor,
          spentTotalMinor: spending.spentTotalMinor,
          lastEventDay: live.lastEventDay,
          version,
        })
        .where(and(eq(table.adCampaignId, Number(adCampaignId)), lte(table.version, version)));
      live.publishedVersion = Math.max(live.publishedVersion, version);
      this.sql.exec("UPDATE campaign SET published_version = ?", live.publishedVersion);
    }
    const pending = rows<{ changed_at: number; status: string }>(
      this.sql,
      "SELECT changed_at, status FROM status_changes WHERE synced_at IS NULL ORDER BY changed_at",
    );
    const latest = pending.at(-1);
    if (!latest) return;
    await this.env.CAMPAIGN_LIFECYCLE.sendBatch(
      pending.map((change) => ({
        body: { kind: "ad-campaign-lifecycle", adCampaignId, status: change.status, at: change.changed_at } satisfies AdCampaignLifecycleMessage,
      })),
    );
    this.sql.exec("UPDATE status_changes SET synced_at = ? WHERE changed_at <= ? AND synced_at IS NULL", Date.now(), latest.changed_at);
  }
}
