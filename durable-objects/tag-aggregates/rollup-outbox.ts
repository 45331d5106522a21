import { firstRow, migrate, rows } from "../sql.ts";
import { rollupDayOf, tagRollupsStub, type RollupAction, type RollupDeltaRow } from "../tag-rollups/stub.ts";
import type { ShardTag } from "./tag-aggregates.ts";

/** How long newly counted tags wait before their hour shard sends them on to the day's rollups. */
export const ROLLUP_FLUSH_DELAY_MS = 10_000;

/** How long a failed flush waits before it is tried again (same seq, same rows). */
export const ROLLUP_RETRY_MS = 10_000;

const SCHEMA = [
  `CREATE TABLE rollup_pending (
     seq INTEGER NOT NULL,
     action TEXT NOT NULL,
     origin TEXT NOT NULL,
     brand_id TEXT NOT NULL,
     category_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     sum_price INTEGER NOT NULL,
     PRIMARY KEY (seq, action, origin, brand_id, category_id)
   ) WITHOUT ROWID`,
  "CREATE TABLE rollup_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
] as const;

/**
 * The hour shard's side of the hour and day rollups: tags the shard counts for the first time
 * are summed into a pending delta under the open flush seq, in the same synchronous transaction
 * as the minute counts, so a tag is in the delta exactly when it is in the minutes. `flush` closes
 * the seq, sends it to the day's `TagRollups` (one call per action) and forgets it once all have
 * acknowledged; until then it resends the same seq with the same rows, which a rollup ignores
 * after the first time.
 */
export class RollupOutbox {
  private openSeq = 0;
  private generation = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {
    migrate(sql, "tag-rollups-outbox", SCHEMA);
    this.openSeq = this.meta("open_seq") ?? 1;
    // A shard dropped by retention and revived by a late tag starts again at seq 1; a new
    // generation in the source name keeps the rollups from taking it for an old flush.
    this.generation = this.meta("generation") ?? 0;
  }

  /**
   * Adds a newly counted tag of the hour starting at `hourStart` (the shard's) to the open delta.
   * Synchronous: it commits with the caller's writes.
   */
  add(tag: ShardTag, hourStart: number): void {
    if (this.generation === 0) {
      this.generation = Date.now();
      this.setMeta("generation", this.generation);
      this.setMeta("hour", hourStart);
      this.setMeta("open_seq", this.openSeq);
    }
    this.sql.exec(
      `INSERT INTO rollup_pending (seq, action, origin, brand_id, category_id, count, sum_price) VALUES (?, ?, ?, ?, ?, 1, ?)
       ON CONFLICT (seq, action, origin, brand_id, category_id)
       DO UPDATE SET count = count + 1, sum_price = sum_price + excluded.sum_price`,
      this.openSeq, tag.action, tag.origin, tag.brandId, tag.categoryId, tag.price,
    );
  }

  /** Whether any counted tag has not yet been acknowledged by the rollups. */
  hasPending(): boolean {
    return firstRow(this.sql, "SELECT 1 AS one FROM rollup_pending LIMIT 1") !== undefined;
  }

  /**
   * Sends every pending delta, oldest seq first, one at a time. Returns false when a send failed
   * (the delta stays, to be resent as it is); true when nothing is left unsent.
   */
  async flush(): Promise<boolean> {
    for (;;) {
      const oldest = firstRow<{ seq: number | null }>(this.sql, "SELECT MIN(seq) AS seq FROM rollup_pending")?.seq ?? null;
      if (oldest === null) return true;
      const hour = this.meta("hour") ?? 0;
      if (oldest === this.openSeq) {
        // Close it: tags counted while this delta is on its way go to the next seq.
        this.openSeq++;
        this.setMeta("open_seq", this.openSeq);
      }
      const pending = rows<{ action: RollupAction; origin: string; brand_id: string; category_id: string; count: number; sum_price: number }>(
        this.sql,
        "SELECT action, origin, brand_id, category_id, count, sum_price FROM rollup_pending WHERE seq = ?",
        oldest,
      );
      const byAction = new Map<RollupAction, RollupDeltaRow[]>();
      for (const row of pending) {
        const list = byAction.get(row.action) ?? [];
        list.push({ origin: row.origin, brandId: row.brand_id, categoryId: row.category_id, count: row.count, sumPrice: row.sum_price });
        byAction.set(row.action, list);
      }
      const source = `tags:${new Date(hour).toISOString().slice(0, 13)}#${this.generation}`;
      const sends = [...byAction].map(([action, deltaRows]) =>
        tagRollupsStub(this.env, rollupDayOf(hour), action).apply({ source, seq: oldest, hour, rows: deltaRows }),
      );
      const outcomes = await Promise.allSettled(sends);
      const failure = outcomes.find((outcome) => outcome.status === "rejected");
      if (failure) {
        console.warn(`tag rollups: flush ${oldest} of ${source} failed; retrying`, failure.reason);
        return false;
      }
      this.sql.exec("DELETE FROM rollup_pending WHERE seq = ?", oldest);
    }
  }

  private meta(key: string): number | undefined {
    return firstRow<{ value: number }>(this.sql, "SELECT value FROM rollup_meta WHERE key = ?", key)?.value;
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec("INSERT INTO rollup_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}
