import type { User } from "../user/user.ts";
import { rows } from "../sql.ts";

/** The most impressions one flush hands over; the rest wait for the next flush. */
const FLUSH_LIMIT = 100;

/**
 * Impressions the campaign recorded that the viewer's `User` object has not yet counted for its
 * frequency cap. Each is added in the same storage transaction as the event it comes from, so an
 * impression is either not recorded at all or certain to reach the cap count: `flush` hands the
 * pending ones over and deletes those that landed; a failed one stays for the next flush (the next
 * event or the retry alarm). The `User` counts each (campaign, event id) once, so an impression
 * handed over twice (two flushes at once, or a crash before the delete) still counts once.
 */
export class ImpressionOutbox {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: () => Env,
  ) {}

  /** Records that `userId` saw the campaign in event `eventId`, which reached Tally on UTC `day`. */
  add(eventId: string, userId: string, day: number): void {
    this.sql.exec("INSERT INTO impression_outbox (event_id, user_id, day) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", eventId, userId, day);
  }

  /** Whether an impression waits to be handed over. */
  hasPending(): boolean {
    return rows(this.sql, "SELECT 1 FROM impression_outbox LIMIT 1").length > 0;
  }

  /**
   * Hands pending impressions to their users' objects; throws, after the others landed, if any
   * failed. One flush runs at a time: callers arriving meanwhile share the one queued after it,
   * so a burst of impressions is not handed over once per caller.
   */
  flush(adCampaignId: string): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.flushNow(adCampaignId);
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flushNow(adCampaignId: string): Promise<void> {
    const pending = rows<{ event_id: string; user_id: string; day: number }>(
      this.sql,
      "SELECT event_id, user_id, day FROM impression_outbox ORDER BY day, event_id LIMIT ?",
      FLUSH_LIMIT,
    );
    const outcomes = await Promise.allSettled(
      pending.map(async (row) => {
        await userObject(this.env(), row.user_id).recordAdImpression({ adCampaignId, eventId: row.event_id, day: row.day });
        this.sql.exec("DELETE FROM impression_outbox WHERE event_id = ?", row.event_id);
      }),
    );
    const failed = outcomes.filter((outcome) => outcome.status === "rejected");
    if (failed.length > 0) throw new Error(`${failed.length} of ${pending.length} impressions not counted yet`, { cause: failed[0]!.reason });
    if (pending.length === FLUSH_LIMIT && this.hasPending()) await this.flushNow(adCampaignId);
  }
}

/**
 * The viewer's `User` object, named as `userStub` in durable-objects/user/user.ts names it (an
 * object imports no other object's module, only its types).
 */
function userObject(env: Env, userId: string): DurableObjectStub<User> {
  return env.USER.getByName(`user:${userId}`);
}
