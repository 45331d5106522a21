import { and, eq, lte } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import type { AdCampaignLifecycleMessage } from "../../shared/messages.ts";
import { rows } from "../sql.ts";
import type { AdCampaignStatus } from "./budget.ts";

/**
 * The status changes an `AdCampaign` decided and has not yet told the world about, in its
 * `status_changes` table. A change is added in the same transaction as the charge or the pause
 * that caused it, so none is lost; `flush` then writes the latest to D1 (never over a newer one)
 * and every pending change to `campaign-lifecycle`, and marks them synced. A failed flush leaves
 * them pending for the next one.
 */
export class StatusOutbox {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {}

  /** Records a change decided at `changedAt` (strictly increasing per campaign). */
  add(changedAt: number, status: AdCampaignStatus): void {
    this.sql.exec("INSERT INTO status_changes (changed_at, status) VALUES (?, ?)", changedAt, status);
  }

  /** Syncs the pending changes. Chained so that concurrent callers never send the same change twice at once. */
  flush(adCampaignId: string): Promise<void> {
    const run = this.chain.then(() => this.syncPending(adCampaignId));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async syncPending(adCampaignId: string): Promise<void> {
    const pending = rows<{ changed_at: number; status: string }>(
      this.sql,
      "SELECT changed_at, status FROM status_changes WHERE synced_at IS NULL ORDER BY changed_at",
    );
    const latest = pending.at(-1);
    if (!latest) return;
    await database(this.env.DB)
      .update(schema.adCampaigns)
      .set({ status: latest.status, statusChangedAt: latest.changed_at })
      .where(and(eq(schema.adCampaigns.adCampaignId, Number(adCampaignId)), lte(schema.adCampaigns.statusChangedAt, latest.changed_at)));
    await this.env.CAMPAIGN_LIFECYCLE.sendBatch(
      pending.map((change) => ({
        body: { kind: "ad-campaign-lifecycle", adCampaignId, status: change.status, at: change.changed_at } satisfies AdCampaignLifecycleMessage,
      })),
    );
    this.sql.exec("UPDATE status_changes SET synced_at = ? WHERE changed_at <= ? AND synced_at IS NULL", Date.now(), latest.changed_at);
  }
}
