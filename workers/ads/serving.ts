/**
 * `GET /ads/serve`: which campaigns may be shown to a user now. Two reads, whatever the number of
 * campaigns: the D1 catalogue (each row holds the terms, status and spend its `AdCampaign` object
 * last published — written before every charged click answers) and the user's object (their
 * impressions today). Serving changes nothing.
 */
import { and, asc, desc, eq, gt, isNull, lte, or } from "drizzle-orm";
import { isWithinPace, statusAt } from "../../durable-objects/ad-campaign/budget.ts";
import { definitionFromD1, spendingFromD1 } from "../../durable-objects/ad-campaign/rows.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import { database, schema } from "../../shared/db/client.ts";
import { toMoneyJson, type MoneyJson } from "../../shared/money.ts";
import { utcDayNumber } from "../../shared/time.ts";

/** The most active campaigns one serve request considers, highest cpc first. */
export const MAX_SERVE_CANDIDATES = 1000;

export interface ServedAd {
  adCampaignId: string;
  cpc: MoneyJson;
}

/**
 * Up to `slots` campaigns for `userId` at `now`, highest cpc first (ties by id): active with budget
 * left (the daily spend of an earlier day counts as zero), under the user's frequency cap for today
 * (impressions that reached Tally this UTC day, the day the campaigns count them under), and an
 * `even` campaign not ahead of its pace.
 */
export async function serveAds(env: Env, userId: string, slots: number, now: number): Promise<ServedAd[]> {
  const table = schema.adCampaigns;
  const [candidates, seenToday] = await Promise.all([
    database(env.DB)
      .select()
      .from(table)
      .where(and(eq(table.status, "active"), lte(table.startAt, now), or(isNull(table.endAt), gt(table.endAt, now))))
      .orderBy(desc(table.cpcMinor), asc(table.adCampaignId))
      .limit(MAX_SERVE_CANDIDATES),
    userStub(env, userId).adImpressionsOn(utcDayNumber(now)),
  ]);
  const ads: ServedAd[] = [];
  for (const row of candidates) {
    if (ads.length === slots) break;
    const definition = definitionFromD1(row);
    const spending = spendingFromD1(row);
    if (statusAt(definition, spending, now) !== "active") continue;
    if (!isWithinPace(definition, spending, now)) continue;
    if (definition.frequencyCap !== null && (seenToday[definition.adCampaignId] ?? 0) >= definition.frequencyCap) continue;
    ads.push({ adCampaignId: definition.adCampaignId, cpc: toMoneyJson({ minor: definition.cpcMinor, currency: definition.currency }) });
  }
  return ads;
}
