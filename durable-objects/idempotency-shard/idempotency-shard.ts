import { DurableObject } from "cloudflare:workers";
import { shardOf } from "../../shared/shard-hash.ts";
import { DAY_MS } from "../../shared/time.ts";
import { firstRow, migrate } from "../sql.ts";

/**
 * Client event ids are spread over this many objects per scope by a hash of the id, so no single
 * object takes a whole ingest stream: at 10,000 events/s each shard sees about 40/s, far under the
 * ~1,000 requests/s one object serves. Changing it re-homes every id, so it is fixed for good.
 */
export const IDEMPOTENCY_SHARDS = 256;

const SCHEMA = [
  `CREATE TABLE event_ids (
     scope TEXT NOT NULL,
     event_id TEXT NOT NULL,
     terms_hash BLOB NOT NULL,
     expires_at INTEGER,
     PRIMARY KEY (scope, event_id)
   ) WITHOUT ROWID`,
  // Partial: ids kept for good (purchases) cost no index entry.
  "CREATE INDEX event_ids_by_expiry ON event_ids (expires_at) WHERE expires_at IS NOT NULL",
] as const;

/** What a shard answers about an event id: first sight, the same terms again, or other terms. */
export type Sighting = "first" | "replay" | "conflict";

/**
 * One shard of the client event ids of the hot ingest paths (`POST /purchases`,
 * `POST /incentives/events`): "same id, same terms replays, other terms is 409" without a D1 write
 * per event. Each id is kept with a hash of its canonical terms for as long as its caller says
 * (forever when it says nothing); a daily alarm forgets those whose time is up.
 */
export class IdempotencyShard extends DurableObject<Env> {
  private alarmSet = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql, "idempotency-shard", SCHEMA);
      this.alarmSet = (await ctx.storage.getAlarm()) !== null;
    });
  }

  /**
   * Records `eventId` with the hash of its terms unless it is already there, and says which it
   * was. `keepMs` (absent: forever) is how long the id is kept.
   */
  async sight(scope: string, eventId: string, termsHash: ArrayBuffer, keepMs?: number): Promise<Sighting> {
    const sql = this.ctx.storage.sql;
    const expiresAt = keepMs === undefined ? null : Date.now() + keepMs;
    const inserted = sql.exec("INSERT INTO event_ids VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", scope, eventId, termsHash, expiresAt).rowsWritten;
    if (inserted > 0) {
      if (expiresAt !== null && !this.alarmSet) {
        await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
        this.alarmSet = true;
      }
      return "first";
    }
    const first = firstRow<{ terms_hash: ArrayBuffer }>(sql, "SELECT terms_hash FROM event_ids WHERE scope = ? AND event_id = ?", scope, eventId);
    return first && equalBytes(first.terms_hash, termsHash) ? "replay" : "conflict";
  }

  /** Forgets the ids whose time is up as of `now`; returns how many went. */
  prune(now = Date.now()): number {
    return this.ctx.storage.sql.exec("DELETE FROM event_ids WHERE expires_at IS NOT NULL AND expires_at < ?", now).rowsWritten;
  }

  /** Daily while the shard holds ids that expire. */
  override async alarm(): Promise<void> {
    this.prune();
    const expiring = firstRow<{ n: number }>(this.ctx.storage.sql, "SELECT count(*) AS n FROM event_ids WHERE expires_at IS NOT NULL");
    this.alarmSet = (expiring?.n ?? 0) > 0;
    if (this.alarmSet) await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
  }
}

function equalBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.every((byte, i) => byte === y[i]);
}

/**
 * The shard of `eventId` (any scope): its UTF-16 code units hashed by `shardOf`, the encoding the
 * stored ids were spread with.
 */
export function idempotencyShardOf(eventId: string): number {
  return shardOf(eventId, IDEMPOTENCY_SHARDS, "utf-16");
}
