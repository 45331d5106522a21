import { DurableObject } from "cloudflare:workers";
import { MINUTE_MS } from "../../shared/time.ts";
import { firstRow, migrate, rows } from "../sql.ts";
import { ROLLUP_FLUSH_DELAY_MS, ROLLUP_RETRY_MS, RollupOutbox } from "./rollup-outbox.ts";

/** Each object holds one hour of event time, so no single object takes the whole ingest stream. */
export const SHARD_MS = 3_600_000;

/**
 * A shard is dropped this long after its last write: its hour then lies more than 24 hours in the
 * past in event time (tags arrive close to their event time), and late or replayed tags renew it.
 */
export const RETAIN_AFTER_LAST_WRITE_MS = 25 * SHARD_MS;

const SCHEMA = [
  "CREATE TABLE seen_tags (tag_id TEXT PRIMARY KEY) WITHOUT ROWID",
  `CREATE TABLE minute_totals (
     minute INTEGER NOT NULL,
     action TEXT NOT NULL,
     origin TEXT NOT NULL,
     brand_id TEXT NOT NULL,
     category_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     sum_price INTEGER NOT NULL,
     PRIMARY KEY (minute, action, origin, brand_id, category_id)
   ) WITHOUT ROWID`,
  "CREATE TABLE shard_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
] as const;

/** What a shard needs of a tag to count it. */
export interface ShardTag {
  tagId: string;
  time: number;
  action: "VIEW" | "BUY";
  origin: string;
  brandId: string;
  categoryId: string;
  price: number;
}

/** A filter over one shard: `[from, to)` in epoch ms, the action, and any of the three dimensions. */
export interface MinuteTotalsQuery {
  from: number;
  to: number;
  action: "VIEW" | "BUY";
  origin?: string | undefined;
  brandId?: string | undefined;
  categoryId?: string | undefined;
}

/** Exact totals of one minute bucket; buckets with no tag are absent. */
export interface MinuteTotal {
  minute: number;
  count: number;
  sumPrice: number;
}

/** The start of the hour shard holding event time `ms`. */
export function shardStartOf(ms: number): number {
  return Math.floor(ms / SHARD_MS) * SHARD_MS;
}

/** The shard's object name, e.g. `tags:2022-03-01T00`. */
export function shardName(shardStart: number): string {
  return `tags:${new Date(shardStart).toISOString().slice(0, 13)}`;
}

/** The starts of every shard that overlaps `[from, to)`. */
export function shardsOverlapping(from: number, to: number): number[] {
  const starts: number[] = [];
  if (to <= from) return starts;
  for (let start = shardStartOf(from); start < to; start += SHARD_MS) starts.push(start);
  return starts;
}

/**
 * Exact COUNT and SUM(price) of user tags per (minute, action, origin, brand, category) for one
 * hour of event time. Every tag id is remembered, so a redelivered batch or a client resend counts
 * once; the id check and the counter update commit together (no await between them). Newly counted
 * tags also go, in batched deltas, to the day's `TagRollups` (hour and day buckets for 400 days).
 */
export class TagAggregates extends DurableObject<Env> {
  private lastWrite = 0;
  private rollups!: RollupOutbox;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => this.open());
  }

  /** Counts the tags not counted before; returns how many were new. */
  async record(tags: ShardTag[]): Promise<number> {
    let added = 0;
    for (const tag of tags) {
      const seen = this.ctx.storage.sql.exec("INSERT INTO seen_tags (tag_id) VALUES (?) ON CONFLICT (tag_id) DO NOTHING", tag.tagId);
      if (seen.rowsWritten === 0) continue;
      added++;
      this.rollups.add(tag, shardStartOf(tag.time));
      this.ctx.storage.sql.exec(
        `INSERT INTO minute_totals (minute, action, origin, brand_id, category_id, count, sum_price)
         VALUES (?, ?, ?, ?, ?, 1, ?)
         ON CONFLICT (minute, action, origin, brand_id, category_id)
         DO UPDATE SET count = count + 1, sum_price = sum_price + excluded.sum_price`,
        Math.floor(tag.time / MINUTE_MS) * MINUTE_MS,
        tag.action,
        tag.origin,
        tag.brandId,
        tag.categoryId,
        tag.price,
      );
    }
    await this.noteWrite();
    if (added > 0) await this.scheduleRollupFlush(ROLLUP_FLUSH_DELAY_MS);
    return added;
  }

  /** Totals per non-empty minute of `[from, to)` matching the filter, oldest first. */
  async totals(query: MinuteTotalsQuery): Promise<MinuteTotal[]> {
    const where = ["minute >= ?", "minute < ?", "action = ?"];
    const bindings: SqlStorageValue[] = [query.from, query.to, query.action];
    const filters: Array<[string, string | undefined]> = [
      ["origin", query.origin],
      ["brand_id", query.brandId],
      ["category_id", query.categoryId],
    ];
    for (const [column, value] of filters) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      bindings.push(value);
    }
    return rows<{ minute: number; count: number; sum_price: number }>(
      this.ctx.storage.sql,
      `SELECT minute, SUM(count) AS count, SUM(sum_price) AS sum_price FROM minute_totals
       WHERE ${where.join(" AND ")} GROUP BY minute ORDER BY minute`,
      ...bindings,
    ).map((row) => ({ minute: row.minute, count: row.count, sumPrice: row.sum_price }));
  }

  /**
   * Sends pending rollup deltas first; then drops the shard once nothing has been written to it for
   * the retention period (never while a delta is unsent).
   */
  override async alarm(): Promise<void> {
    if (!(await this.rollups.flush())) {
      await this.ctx.storage.setAlarm(Date.now() + ROLLUP_RETRY_MS);
      return;
    }
    if (this.rollups.hasPending()) {
      await this.ctx.storage.setAlarm(Date.now() + ROLLUP_FLUSH_DELAY_MS);
      return;
    }
    this.lastWrite = this.storedLastWrite();
    const due = this.lastWrite + RETAIN_AFTER_LAST_WRITE_MS;
    if (Date.now() < due) {
      await this.ctx.storage.setAlarm(due);
      return;
    }
    await this.ctx.storage.deleteAll();
    this.open();
  }

  private open(): void {
    migrate(this.ctx.storage.sql, "tag-aggregates", SCHEMA);
    this.rollups = new RollupOutbox(this.ctx.storage.sql, this.env);
    this.lastWrite = this.storedLastWrite();
  }

  /** Brings the alarm forward so that newly counted tags reach the rollups within `delayMs`. */
  private async scheduleRollupFlush(delayMs: number): Promise<void> {
    const due = Date.now() + delayMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  private storedLastWrite(): number {
    return firstRow<{ value: number }>(this.ctx.storage.sql, "SELECT value FROM shard_meta WHERE key = 'last_write'")?.value ?? 0;
  }

  /** Keeps the last write time to the minute, which is all the retention alarm needs. */
  private async noteWrite(): Promise<void> {
    const now = Date.now();
    if (now - this.lastWrite < MINUTE_MS) return;
    const first = this.lastWrite === 0;
    this.lastWrite = now;
    this.ctx.storage.sql.exec(
      "INSERT INTO shard_meta (key, value) VALUES ('last_write', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      now,
    );
    if (first || (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + RETAIN_AFTER_LAST_WRITE_MS);
  }
}
