import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import { campaignStatus, effectiveEndAt, termsOf, tiersOf, type CampaignRow, type CampaignTerms, type PrizeTier } from "../../shared/campaigns.ts";
import { d1Chunks } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { toMoneyJson, type Money } from "../../shared/money.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { toIso } from "../../shared/time.ts";
import { ApiError } from "../http/problem.ts";

/** The campaign as the API writes it, with its status at `now`. */
export function campaignJson(row: CampaignRow, now = Date.now()) {
  return {
    campaignId: String(row.campaignId),
    itemId: String(row.itemId),
    prize: toMoneyJson({ minor: row.prizeMinor, currency: row.currency }),
    ...(row.prizes !== null ? { prizes: tiersOf(row).map((tier) => ({ ...tier, prize: toMoneyJson(tier.prize) })) } : {}),
    startDateTime: toIso(row.startAt),
    endDateTime: toIso(effectiveEndAt(row)),
    status: campaignStatus(row, now),
  };
}

/** Tiers as the `prizes` column stores them (the currency is the campaign's); null for none. */
export function storedTiers(tiers: PrizeTier[] | undefined): string | null {
  if (tiers === undefined) return null;
  const sorted = [...tiers].sort((a, b) => a.fromPosition - b.fromPosition);
  return JSON.stringify(sorted.map(({ fromPosition, toPosition, prize }) => ({ fromPosition, toPosition, prizeMinor: prize.minor })));
}

/**
 * Adds a campaign to the catalogue. A client-chosen id sent again with the same terms returns
 * the stored campaign; with other terms it is 409.
 */
export async function insertCampaign(d1: D1Database, terms: Omit<CampaignTerms, "campaignId"> & { campaignId?: string }): Promise<CampaignRow> {
  const db = database(d1);
  const values = {
    ...(terms.campaignId !== undefined ? { campaignId: Number(terms.campaignId) } : {}),
    itemId: Number(terms.itemId),
    prizeMinor: terms.prize.minor,
    currency: terms.prize.currency,
    prizes: storedTiers(terms.prizes),
    startAt: terms.startAt,
    endAt: terms.endAt,
    createdAt: Date.now(),
  };
  const [inserted] = await db.insert(schema.campaigns).values(values).onConflictDoNothing().returning();
  if (inserted) return inserted;
  const existing = await findCampaign(d1, terms.campaignId!);
  const expected = termsOf({ ...values, campaignId: Number(terms.campaignId), endedAt: null, settledAt: null });
  if (!existing || !sameTerms(termsOf(existing), expected)) {
    throw new ApiError("idempotency_conflict", `campaign ${terms.campaignId} already exists with other terms`);
  }
  return existing;
}

export async function findCampaign(d1: D1Database, campaignId: string): Promise<CampaignRow | undefined> {
  const [row] = await database(d1).select().from(schema.campaigns).where(eq(schema.campaigns.campaignId, Number(campaignId)));
  return row;
}

export async function getCampaign(d1: D1Database, campaignId: string): Promise<CampaignRow> {
  const row = await findCampaign(d1, campaignId);
  if (!row) throw new ApiError("not_found", `no campaign ${campaignId}`);
  return row;
}

/** Campaigns whose window (an early end included) contains `at`. */
export async function campaignsActiveAt(d1: D1Database, at: number): Promise<CampaignRow[]> {
  return database(d1)
    .select()
    .from(schema.campaigns)
    .where(
      and(
        lte(schema.campaigns.startAt, at),
        // effectiveEndAt (shared/campaigns.ts) in SQL, so D1 filters before rows are read.
        gt(sql`MIN(${schema.campaigns.endAt}, COALESCE(${schema.campaigns.endedAt}, ${schema.campaigns.endAt}))`, at),
      ),
    )
    .orderBy(schema.campaigns.startAt, schema.campaigns.campaignId)
    .limit(1000);
}

/** Every campaign on any of these items, to match purchases against by event time. */
export async function campaignsForItems(d1: D1Database, itemIds: string[]): Promise<CampaignRow[]> {
  const db = database(d1);
  const parts = d1Chunks(itemIds.map(Number), 1);
  return (await Promise.all(parts.map((part) => db.select().from(schema.campaigns).where(inArray(schema.campaigns.itemId, part))))).flat();
}

export async function campaignsByIds(d1: D1Database, campaignIds: string[]): Promise<CampaignRow[]> {
  const db = database(d1);
  const parts = d1Chunks(campaignIds.map(Number), 1);
  return (await Promise.all(parts.map((part) => db.select().from(schema.campaigns).where(inArray(schema.campaigns.campaignId, part))))).flat();
}

/** A checked edit of a campaign's terms, as `PATCH /campaigns/{id}` stores it. */
export interface CampaignEdit {
  itemId?: string;
  prize?: Money;
  prizes?: PrizeTier[];
  startAt?: number;
  endAt?: number;
}

/**
 * Applies an edit while the campaign has not ended; refuses (409) item and start edits once it is
 * active, and any edit after the end. The update is conditional on the status read, so an edit
 * racing an early end or a settlement changes nothing.
 */
export async function editCampaign(d1: D1Database, row: CampaignRow, edit: CampaignEdit, now: number): Promise<CampaignRow> {
  const status = campaignStatus(row, now);
  if (status === "ended" || status === "settled") throw new ApiError("conflict", `campaign ${row.campaignId} has ended; it can no longer be edited`);
  if (status === "active" && (edit.itemId !== undefined || edit.startAt !== undefined)) {
    const field = edit.itemId !== undefined ? "itemId" : "startDateTime";
    throw new ApiError("conflict", `campaign ${row.campaignId} is active: ${field} changes only while it is scheduled`, {
      errors: [{ path: field, message: "changes only while the campaign is scheduled" }],
    });
  }
  const prize = edit.prize ?? { minor: row.prizeMinor, currency: row.currency };
  const problems: { path: string; message: string }[] = [];
  if (prize.currency !== row.currency) problems.push({ path: "prize.currency", message: `must stay ${row.currency}: totals are kept in it` });
  (edit.prizes ?? tiersOf(row)).forEach((tier, index) => {
    if (tier.prize.currency !== prize.currency) problems.push({ path: `prizes.${index}.prize.currency`, message: `must be ${prize.currency}, the currency of prize` });
  });
  const startAt = edit.startAt ?? row.startAt;
  const endAt = edit.endAt ?? row.endAt;
  if (endAt <= startAt) problems.push({ path: "endDateTime", message: "must be after startDateTime" });
  if (edit.endAt !== undefined && edit.endAt <= now) problems.push({ path: "endDateTime", message: "must be in the future; POST /campaigns/{id}/end ends a campaign now" });
  if (problems.length > 0) throw new ApiError("unprocessable", problems.map((p) => `${p.path} ${p.message}`).join("; "), { errors: problems });
  const changes = {
    ...(edit.itemId !== undefined ? { itemId: Number(edit.itemId) } : {}),
    ...(edit.prize !== undefined ? { prizeMinor: edit.prize.minor } : {}),
    ...(edit.prizes !== undefined ? { prizes: storedTiers(edit.prizes) } : {}),
    startAt,
    endAt,
  };
  const [updated] = await database(d1)
    .update(schema.campaigns)
    .set(changes)
    .where(
      and(
        eq(schema.campaigns.campaignId, row.campaignId),
        sql`${schema.campaigns.endedAt} IS NULL`,
        sql`${schema.campaigns.settledAt} IS NULL`,
        // Item and start edits hold only while the campaign has not started.
        ...(edit.itemId !== undefined || edit.startAt !== undefined ? [gt(schema.campaigns.startAt, now)] : []),
      ),
    )
    .returning();
  if (!updated) throw new ApiError("conflict", `campaign ${row.campaignId} changed status meanwhile; read it and try again`);
  return updated;
}

/** Marks an early end/** Marks an early end (the first one wins); returns the row as it now stands. */
export async function markEnded(d1: D1Database, campaignId: string, at: number): Promise<CampaignRow> {
  const db = database(d1);
  await db
    .update(schema.campaigns)
    .set({ endedAt: at })
    .where(and(eq(schema.campaigns.campaignId, Number(campaignId)), sql`${schema.campaigns.endedAt} IS NULL`, gt(schema.campaigns.endAt, at)));
  return getCampaign(d1, campaignId);
}

/** True when a purchase at `timestamp` on `itemId` counts for the campaign (event time, not arrival). */
export function qualifies(row: CampaignRow, itemId: string, timestamp: number): boolean {
  return String(row.itemId) === itemId && row.startAt <= timestamp && timestamp < effectiveEndAt(row);
}
