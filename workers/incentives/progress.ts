/**
 * An employer's progress in D1 terms: the (user, employer incentive) pairs to evaluate, a page at a
 * time; the User objects then compute each pair's progress.
 */
import { and, asc, eq, gt, isNull, or } from "drizzle-orm";
import type { AwardCandidate } from "../../durable-objects/user/streak-rules.ts";
import { encodeCursor } from "../../shared/cursor.ts";
import { database, schema } from "../../shared/db/client.ts";
import { toCandidate } from "./catalogue.ts";
import type { ProgressPosition } from "./schemas.ts";

const { incentives, employerIncentives } = schema;

/** One progress row to compute: a user with history for the event of an attached incentive. */
export interface ProgressItem {
  userId: string;
  candidate: AwardCandidate & { event: string };
}

/**
 * One page of (user, employer incentive) pairs for an employer's progress, by user id then
 * employer incentive id: every user with history for the event of each active incentive it has
 * attached (not detached), optionally one of them only.
 */
export async function progressPage(
  d1: D1Database,
  employerId: string,
  employerIncentiveId: string | undefined,
  limit: number,
  after?: ProgressPosition,
): Promise<{ items: ProgressItem[]; nextCursor: string | null }> {
  const { incentiveHistory } = schema;
  const found = await database(d1)
    .select()
    .from(employerIncentives)
    .innerJoin(incentives, eq(employerIncentives.incentiveId, incentives.incentiveId))
    .innerJoin(incentiveHistory, and(eq(incentiveHistory.employerId, employerIncentives.employerId), eq(incentiveHistory.event, incentives.event)))
    .where(
      and(
        eq(employerIncentives.employerId, Number(employerId)),
        isNull(employerIncentives.detachedAt),
        eq(incentives.active, true),
        employerIncentiveId === undefined ? undefined : eq(employerIncentives.employerIncentiveId, Number(employerIncentiveId)),
        after === undefined
          ? undefined
          : or(
              gt(incentiveHistory.userId, after[0]),
              and(eq(incentiveHistory.userId, after[0]), gt(employerIncentives.employerIncentiveId, Number(after[1]))),
            ),
      ),
    )
    .orderBy(asc(incentiveHistory.userId), asc(employerIncentives.employerIncentiveId))
    .limit(limit + 1);
  const page = found.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => ({
      userId: String(row.incentive_history.userId),
      candidate: { ...toCandidate(row.employer_incentives, row.incentives), event: row.incentives.event },
    })),
    nextCursor:
      found.length > limit && last
        ? encodeCursor([last.incentive_history.userId, String(last.employer_incentives.employerIncentiveId)] satisfies ProgressPosition)
        : null,
  };
}
