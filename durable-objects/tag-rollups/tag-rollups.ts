import { DurableObject } from "cloudflare:workers";
import { DAY_MS } from "../../shared/time.ts";
import { firstRow, migrate, rows } from "../sql.ts";
import type { RollupDelta, RollupQuery } from "./stub.ts";

/**
 * A rollup is dropped this long after its last write: tags arrive close to their event time, so
 * its day then lies at least 400 days in the past, the retention Allezon's trends need.
 */
export const ROLLUP_RETAIN_AFTER_LAST_WRITE_MS = 401 * DAY_MS;

/**
 * "Any value" in a cell's dimension. No tag carries an empty origin, brand or category (each is at
 * least one character), so a cell with `''` can only be a total over that dimension.
 */
export const ANY = "";

const SCHEMA = [
  `CREATE TABLE hour_totals (
     origin TEXT NOT NULL,
     brand_id TEXT NOT NULL,
     category_id TEXT NOT NULL,
     hour INTEGER NOT NULL,
     count INTEGER NOT NULL,
     sum_price INTEGER NOT NULL,
     PRIMARY KEY (origin, brand_id, category_id, hour)
   ) WITHOUT ROWID`,
  "CREATE TABLE applied_deltas (source TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID",
] as const;

/**
 * Exact hour totals as read from a rollup. `sumPrice` is decimal text: a day of int32 prices can
 * pass 2^53, which SQLite's 64-bit integers hold but a JavaScript number would round.
 */
export interface HourTotalText {
  hour: number;
  count: number;
  sumPrice: string;
}

/**
 * Hour totals of one action on one UTC day, for 400 days (`rollups:2022-03-01:VIEW`). Fed by the
 * hour shards (`TagAggregates`) with batched deltas of tags they counted for the first time; each
 * delta row is added to its 8 cells (every subset of origin, brand and category kept, the rest
 * "any"), so any filter is one primary-key range of at most 24 rows. A delta applies at most once
 * per (source, seq). Tables appear with the first write: reading a day nobody wrote stores nothing.
 */
export class TagRollups extends DurableObject<Env> {
  private opened = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      if (rows(ctx.storage.sql, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").length > 0) this.open();
    });
  }

  /** Adds a delta unless this source's seq was already applied; returns whether it was added. */
  async apply(delta: RollupDelta): Promise<boolean> {
    this.open();
    const sql = this.ctx.storage.sql;
    const applied = firstRow<{ seq: number }>(sql, "SELECT seq FROM applied_deltas WHERE source = ?", delta.source);
    if (applied !== undefined && applied.seq >= delta.seq) return false;
    const cells = new Map<string, { origin: string; brandId: string; categoryId: string; count: number; sumPrice: number }>();
    for (const row of delta.rows) {
      for (let mask = 0; mask < 8; mask++) {
        const origin = mask & 1 ? row.origin : ANY;
        const brandId = mask & 2 ? row.brandId : ANY;
        const categoryId = mask & 4 ? row.categoryId : ANY;
        const key = JSON.stringify([origin, brandId, categoryId]);
        const cell = cells.get(key);
        if (cell) {
          cell.count += row.count;
          cell.sumPrice += row.sumPrice;
        } else cells.set(key, { origin, brandId, categoryId, count: row.count, sumPrice: row.sumPrice });
      }
    }
    // No await from the seq check to here: the counts and the seq commit together.
    for (const cell of cells.values()) {
      sql.exec(
        `INSERT INTO hour_totals (origin, brand_id, category_id, hour, count, sum_price) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (origin, brand_id, category_id, hour)
         DO UPDATE SET count = count + excluded.count, sum_price = sum_price + excluded.sum_price`,
        cell.origin, cell.brandId, cell.categoryId, delta.hour, cell.count, cell.sumPrice,
      );
    }
    sql.exec(
      "INSERT INTO applied_deltas (source, seq) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET seq = excluded.seq",
      delta.source, delta.seq,
    );
    await this.ctx.storage.setAlarm(Date.now() + ROLLUP_RETAIN_AFTER_LAST_WRITE_MS);
    return true;
  }

  /** Totals per non-empty hour of `[from, to)` for the filter, oldest first. */
  async totals(query: RollupQuery): Promise<HourTotalText[]> {
    if (!this.opened) return [];
    return rows<{ hour: number; count: number; sum_price: string }>(
      this.ctx.storage.sql,
      `SELECT hour, count, CAST(sum_price AS TEXT) AS sum_price FROM hour_totals
       WHERE origin = ? AND brand_id = ? AND category_id = ? AND hour >= ? AND hour < ? ORDER BY hour`,
      query.origin ?? ANY, query.brandId ?? ANY, query.categoryId ?? ANY, query.from, query.to,
    ).map((row) => ({ hour: row.hour, count: row.count, sumPrice: row.sum_price }));
  }

  /** The retention alarm: every write moved it on, so firing means 401 days without one. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.opened = false;
  }

  private open(): void {
    if (this.opened) return;
    migrate(this.ctx.storage.sql, "tag-rollups", SCHEMA);
    this.opened = true;
  }
}
