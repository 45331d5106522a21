/**
 * The history index in D1: which users have days of which (employer, event) pairs, so attaching an
 * incentive can evaluate the users who already qualify, a page at a time.
 */
import { and, asc, eq, gt } from "drizzle-orm";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";

/** Users a retroactive evaluation message handles at once. */
export const HISTORY_PAGE = 100;

/** Records in the history index that the user has days of these (employer, event) pairs. */
export async function indexHistory(d1: D1Database, userId: string, pairs: readonly { employerId: string; event: string }[]): Promise<void> {
  const db = database(d1);
  const rows = pairs.map((pair) => ({ employerId: Number(pair.employerId), event: pair.event, userId: Number(userId) }));
  await runInOneBatch(db, d1Chunks(rows, 3).map((part) => db.insert(schema.incentiveHistory).values(part).onConflictDoNothing()));
}

/** Up to HISTORY_PAGE users with history for (employer, event), by user id, after `afterUserId`. */
export async function historyPage(d1: D1Database, employerId: string, event: string, afterUserId: string | null): Promise<string[]> {
  const { incentiveHistory } = schema;
  const found = await database(d1)
    .select({ userId: incentiveHistory.userId })
    .from(incentiveHistory)
    .where(
      and(
        eq(incentiveHistory.employerId, Number(employerId)),
        eq(incentiveHistory.event, event),
        afterUserId === null ? undefined : gt(incentiveHistory.userId, Number(afterUserId)),
      ),
    )
    .orderBy(asc(incentiveHistory.userId))
    .limit(HISTORY_PAGE);
  return found.map((row) => String(row.userId));
}
