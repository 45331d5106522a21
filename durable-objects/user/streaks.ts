/**
 * The User object's store of incentive days and awards; the rules it applies live in
 * `streak-rules.ts`.
 */
import { rows } from "../sql.ts";
import {
  type Activity,
  type AwardCandidate,
  type History,
  type RuleProgress,
  type StoredAward,
  type StreakView,
  countedHistory,
  isoDay,
  newlyEarned,
  progressOf,
  summarizeDays,
} from "./streak-rules.ts";

export const STREAK_SCHEMA = [
  `CREATE TABLE streak_days (
     employer_id TEXT NOT NULL,
     event TEXT NOT NULL,
     day INTEGER NOT NULL,
     PRIMARY KEY (employer_id, event, day)
   )`,
  `CREATE TABLE streak_awards (
     employer_incentive_id TEXT PRIMARY KEY,
     employer_id TEXT NOT NULL,
     incentive_id TEXT NOT NULL,
     reward_description TEXT NOT NULL,
     event_id TEXT NOT NULL,
     awarded_at INTEGER NOT NULL,
     confirmed_at INTEGER
   )`,
  "CREATE INDEX streak_awards_unconfirmed ON streak_awards (confirmed_at)",
  // Each (employer, event) the user has any day of; `indexed` once D1's incentive_history has it.
  `CREATE TABLE streak_pairs (
     employer_id TEXT NOT NULL,
     event TEXT NOT NULL,
     indexed INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (employer_id, event)
   )`,
  // Users from before the index: their pairs are indexed on their next event.
  "INSERT INTO streak_pairs (employer_id, event) SELECT DISTINCT employer_id, event FROM streak_days",
  // Each distinct event id with its local day, for `count` rules (which count events, not days).
  // Days recorded before this table are not back-filled: a guessed event would count twice when
  // its real id is redelivered, and an award cannot be taken back.
  `CREATE TABLE streak_events (
     employer_id TEXT NOT NULL,
     event TEXT NOT NULL,
     event_id TEXT NOT NULL,
     day INTEGER NOT NULL,
     PRIMARY KEY (employer_id, event, event_id)
   )`,
] as const;

type AwardRow = {
  employer_incentive_id: string;
  employer_id: string;
  incentive_id: string;
  reward_description: string;
  event_id: string;
  awarded_at: number;
};

function toStoredAward(row: AwardRow): StoredAward {
  return {
    employerIncentiveId: row.employer_incentive_id,
    employerId: row.employer_id,
    incentiveId: row.incentive_id,
    reward: { description: row.reward_description },
    eventId: row.event_id,
    awardedAt: row.awarded_at,
  };
}

/**
 * A user's incentive days and awards in the object's SQLite. An award is written in the same
 * transaction as the day that earned it and stays *unconfirmed* until the consumer has stored it
 * in D1 and published it; until then every `record` hands it out again, so a consumer that
 * crashed in between finishes the job on the redelivery.
 */
export class StreakStore {
  private readonly storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  /**
   * Records each activity's day, awards what newly holds, and returns every unconfirmed award and
   * the (employer, event) pairs this call recorded the first day of — each reported until
   * `confirmPairs`, so the consumer's D1 index write is retried with the redelivery.
   */
  record(activities: readonly Activity[], now = Date.now()): { awards: StoredAward[]; newPairs: { employerId: string; event: string }[] } {
    const sql = this.storage.sql;
    this.storage.transactionSync(() => {
      const awarded = new Set(
        rows<{ id: string }>(sql, "SELECT employer_incentive_id AS id FROM streak_awards").map((r) => r.id),
      );
      for (const activity of activities) {
        sql.exec(
          "INSERT INTO streak_pairs (employer_id, event) VALUES (?, ?) ON CONFLICT DO NOTHING",
          activity.employerId,
          activity.event,
        );
        sql.exec(
          "INSERT INTO streak_days (employer_id, event, day) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
          activity.employerId,
          activity.event,
          activity.localDay,
        );
        // Keyed by event id: a redelivered event counts once.
        sql.exec(
          "INSERT INTO streak_events (employer_id, event, event_id, day) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
          activity.employerId,
          activity.event,
          activity.eventId,
          activity.localDay,
        );
        if (activity.candidates.length === 0) continue;
        const earned = newlyEarned(activity.candidates, this.history(activity.employerId, activity.event), awarded);
        for (const candidate of earned) {
          this.insertAward(activity.employerId, candidate, activity.eventId, now);
          awarded.add(candidate.employerIncentiveId);
        }
      }
    });
    return { awards: this.unconfirmed(), newPairs: this.unindexedPairs() };
  }

  /**
   * Evaluates `candidates` (an employer's incentives for one event) on the days already stored, with
   * no new day: for an incentive just attached or a rule just changed. Returns every unconfirmed award.
   */
  evaluate(employerId: string, event: string, candidates: readonly AwardCandidate[], now = Date.now()): StoredAward[] {
    const sql = this.storage.sql;
    this.storage.transactionSync(() => {
      const awarded = new Set(rows<{ id: string }>(sql, "SELECT employer_incentive_id AS id FROM streak_awards").map((r) => r.id));
      for (const candidate of newlyEarned(candidates, this.history(employerId, event), awarded)) {
        // No event completed it: the stored history did, when the incentive was attached or changed.
        this.insertAward(employerId, candidate, `history:${event}`, now);
      }
    });
    return this.unconfirmed();
  }

  /**
   * Where the user stands on each of an employer's incentives (`event` is the one each counts),
   * and whether the object has awarded it (confirmed or not yet).
   */
  progress(
    employerId: string,
    candidates: readonly (AwardCandidate & { event: string })[],
  ): Array<RuleProgress & { employerIncentiveId: string; awarded: boolean }> {
    const awarded = new Set(rows<{ id: string }>(this.storage.sql, "SELECT employer_incentive_id AS id FROM streak_awards").map((r) => r.id));
    const histories = new Map<string, History>();
    return candidates.map((candidate) => {
      let history = histories.get(candidate.event);
      if (!history) histories.set(candidate.event, (history = this.history(employerId, candidate.event)));
      return {
        employerIncentiveId: candidate.employerIncentiveId,
        ...progressOf(candidate.rule, countedHistory(candidate, history)),
        awarded: awarded.has(candidate.employerIncentiveId),
      };
    });
  }

  /** Pairs whose first day was recorded but not yet confirmed as indexed in D1. */
  unindexedPairs(): { employerId: string; event: string }[] {
    return rows<{ employer_id: string; event: string }>(this.storage.sql, "SELECT employer_id, event FROM streak_pairs WHERE indexed = 0").map(
      (r) => ({ employerId: r.employer_id, event: r.event }),
    );
  }

  /** Marks pairs as written to D1's history index. */
  confirmPairs(pairs: readonly { employerId: string; event: string }[]): void {
    for (const pair of pairs) {
      this.storage.sql.exec("UPDATE streak_pairs SET indexed = 1 WHERE employer_id = ? AND event = ?", pair.employerId, pair.event);
    }
  }

  /** Awards made but not yet confirmed as stored in D1 and published. */
  unconfirmed(): StoredAward[] {
    return rows<AwardRow>(
      this.storage.sql,
      "SELECT * FROM streak_awards WHERE confirmed_at IS NULL ORDER BY awarded_at, employer_incentive_id",
    ).map(toStoredAward);
  }

  /** Marks awards as stored and published; confirming twice changes nothing. */
  confirm(employerIncentiveIds: readonly string[], now = Date.now()): void {
    for (const id of employerIncentiveIds) {
      this.storage.sql.exec(
        "UPDATE streak_awards SET confirmed_at = ? WHERE employer_incentive_id = ? AND confirmed_at IS NULL",
        now,
        id,
      );
    }
  }

  /** The current and longest streak per (employer, event) the user has any day for. */
  streaks(): StreakView[] {
    const byKey = new Map<string, { employerId: string; event: string; days: number[] }>();
    for (const row of rows<{ employer_id: string; event: string; day: number }>(
      this.storage.sql,
      "SELECT employer_id, event, day FROM streak_days ORDER BY CAST(employer_id AS INTEGER), employer_id, event, day",
    )) {
      const key = `${row.employer_id}\u0000${row.event}`;
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = { employerId: row.employer_id, event: row.event, days: [] }));
      group.days.push(row.day);
    }
    const views: StreakView[] = [];
    for (const group of byKey.values()) {
      const summary = summarizeDays(group.days)!;
      views.push({
        employerId: group.employerId,
        event: group.event,
        current: summary.current,
        longest: summary.longest,
        lastDay: isoDay(summary.lastDay),
      });
    }
    return views;
  }

  /** The one place an award is made: unconfirmed until the consumer has stored and published it. */
  private insertAward(employerId: string, candidate: AwardCandidate, eventId: string, now: number): void {
    this.storage.sql.exec(
      `INSERT INTO streak_awards (employer_incentive_id, employer_id, incentive_id, reward_description, event_id, awarded_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      candidate.employerIncentiveId,
      employerId,
      candidate.incentiveId,
      candidate.reward.description,
      eventId,
      now,
    );
  }

  private history(employerId: string, event: string): History {
    const sql = this.storage.sql;
    const days = rows<{ day: number }>(sql, "SELECT day FROM streak_days WHERE employer_id = ? AND event = ? ORDER BY day", employerId, event);
    const eventDays = rows<{ day: number }>(sql, "SELECT day FROM streak_events WHERE employer_id = ? AND event = ? ORDER BY day", employerId, event);
    return { days: days.map((r) => r.day), eventDays: eventDays.map((r) => r.day) };
  }
}
