/**
 * Incentive awards in D1: stored once per user and employer incentive, marked fulfilled once, and
 * listed newest first a page at a time.
 */
import { and, desc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { StoredAward } from "../../durable-objects/user/streak-rules.ts";
import { encodeCursor } from "../../shared/cursor.ts";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import type { IncentiveAwardMessage } from "../../shared/messages.ts";
import { toIso } from "../../shared/time.ts";
import type { AwardJson, AwardPosition } from "./schemas.ts";

const { incentiveAwards } = schema;

type AwardRow = typeof incentiveAwards.$inferSelect;

function toAwardJson(row: AwardRow): AwardJson {
  return {
    awardId: row.awardId,
    userId: String(row.userId),
    employerId: String(row.employerId),
    employerIncentiveId: String(row.employerIncentiveId),
    incentiveId: String(row.incentiveId),
    reward: { description: row.rewardDescription },
    awardedAt: toIso(row.awardedAt),
    fulfilledAt: row.fulfilledAt === null ? null : toIso(row.fulfilledAt),
  };
}

/** The award id: one per user and employer incentive, so every retry names the same award. */
export function awardIdOf(userId: string, employerIncentiveId: string): string {
  return `${userId}-${employerIncentiveId}`;
}

export function toAwardMessage(userId: string, award: StoredAward): IncentiveAwardMessage {
  return {
    kind: "incentive-award",
    awardId: awardIdOf(userId, award.employerIncentiveId),
    userId,
    employerId: award.employerId,
    employerIncentiveId: award.employerIncentiveId,
    incentiveId: award.incentiveId,
    reward: award.reward,
    awardedAt: award.awardedAt,
    eventId: award.eventId,
  };
}

function awardValues(award: IncentiveAwardMessage) {
  return {
    awardId: award.awardId,
    userId: Number(award.userId),
    employerId: Number(award.employerId),
    employerIncentiveId: Number(award.employerIncentiveId),
    incentiveId: Number(award.incentiveId),
    rewardDescription: award.reward.description,
    awardedAt: award.awardedAt,
    eventId: award.eventId,
  };
}

/** Stores awards; one already stored (same user and employer incentive) is left as it was. */
export async function storeAwards(d1: D1Database, awards: readonly IncentiveAwardMessage[]): Promise<void> {
  if (awards.length === 0) return;
  const db = database(d1);
  await runInOneBatch(db, awards.map((award) => db.insert(incentiveAwards).values(awardValues(award)).onConflictDoNothing()));
}

/**
 * Marks awards fulfilled, once each: returns the ids this call fulfilled (a redelivered message
 * finds its award already fulfilled and is left alone). An award missing from D1 — only possible
 * for a message re-driven after its row was lost — is stored from the message first.
 */
export async function markFulfilled(d1: D1Database, awards: readonly IncentiveAwardMessage[], now = Date.now()): Promise<string[]> {
  if (awards.length === 0) return [];
  await storeAwards(d1, awards);
  const db = database(d1);
  const fulfilled: string[] = [];
  const ids = [...new Set(awards.map((award) => award.awardId))];
  // One more parameter beside the ids: the `fulfilledAt` set.
  for (const part of d1Chunks(ids, 1, 1)) {
    const updated = await db
      .update(incentiveAwards)
      .set({ fulfilledAt: now })
      .where(and(inArray(incentiveAwards.awardId, part), isNull(incentiveAwards.fulfilledAt)))
      .returning({ awardId: incentiveAwards.awardId });
    fulfilled.push(...updated.map((row) => row.awardId));
  }
  return fulfilled;
}

/** Awards newest first, `limit` a page, from after `after`; `nextCursor` is null on the last page. */
export async function listAwards(
  d1: D1Database,
  filter: { userId: string } | { employerId: string },
  limit: number,
  after?: AwardPosition,
): Promise<{ awards: AwardJson[]; nextCursor: string | null }> {
  const where =
    "userId" in filter ? eq(incentiveAwards.userId, Number(filter.userId)) : eq(incentiveAwards.employerId, Number(filter.employerId));
  const found = await database(d1)
    .select()
    .from(incentiveAwards)
    .where(
      and(
        where,
        after === undefined
          ? undefined
          : or(lt(incentiveAwards.awardedAt, after[0]), and(eq(incentiveAwards.awardedAt, after[0]), lt(incentiveAwards.awardId, after[1]))),
      ),
    )
    .orderBy(desc(incentiveAwards.awardedAt), desc(incentiveAwards.awardId))
    .limit(limit + 1);
  const page = found.slice(0, limit);
  const last = page[page.length - 1];
  return { awards: page.map(toAwardJson), nextCursor: found.length > limit && last ? encodeCursor([last.awardedAt, last.awardId] satisfies AwardPosition) : null };
}
