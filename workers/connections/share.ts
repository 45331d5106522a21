import { and, eq, isNull, sql } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { ApiError } from "../http/problem.ts";
import { displayNamesOf } from "../../shared/display-names.ts";
import { connectionShared } from "../../shared/webhooks/events.ts";
import { publishEvent } from "../../shared/webhooks/publish.ts";

/**
 * Records `userId`'s consent to share an established connection publicly (once per party: a
 * second consent keeps the first time) and answers who has consented, earliest first. Once both
 * parties have, `connection.shared` goes out with public profile data only — names, zip, UTC day,
 * never a location — once, on that transition: `sharedPublishedAt` is set after the publish
 * succeeded, so later consent calls publish nothing, while a publish that failed (the call answers
 * an error) is completed by the next call of either party. Two calls racing through the transition
 * may both publish; the event id is the same, and receivers dedupe by it.
 */
export async function shareConnection(env: Env, requestId: string, userId: string, httpRequestId?: string): Promise<{ requestId: string; sharedBy: string[] }> {
  const db = database(env.DB);
  const [request] = await db
    .select({ citizenId: schema.connectionRequests.citizenId, officerId: schema.connectionRequests.officerId })
    .from(schema.connectionRequests)
    .where(eq(schema.connectionRequests.requestId, requestId));
  if (!request) throw new ApiError("not_found", `no connection request ${requestId}`);
  const role = userId === request.citizenId ? "citizen" : userId === request.officerId ? "officer" : undefined;
  if (!role) throw new ApiError("forbidden", "only the citizen or the officer of this connection may share it");
  const t = schema.connections;
  const column = role === "citizen" ? t.citizenSharedAt : t.officerSharedAt;
  const [row] = await db
    .update(t)
    .set(role === "citizen" ? { citizenSharedAt: sql`coalesce(${column}, ${Date.now()})` } : { officerSharedAt: sql`coalesce(${column}, ${Date.now()})` })
    .where(eq(t.requestId, requestId))
    .returning();
  if (!row) throw new ApiError("conflict", `connection ${requestId} is not established (yet): only an established connection can be shared`);
  const consents = [
    { userId: row.citizenId, at: row.citizenSharedAt },
    { userId: row.officerId, at: row.officerSharedAt },
  ].filter((consent): consent is { userId: string; at: number } => consent.at !== null);
  consents.sort((a, b) => a.at - b.at);
  if (consents.length === 2 && row.sharedPublishedAt === null) {
    const names = await displayNamesOf(env.DB, [row.citizenId, row.officerId]);
    await publishEvent(env, [
      connectionShared({
        requestId,
        zip: row.zip,
        establishedAt: row.establishedAt,
        sharedAt: consents[1]!.at,
        citizen: { userId: row.citizenId, displayName: names.get(row.citizenId) ?? null },
        officer: { userId: row.officerId, displayName: names.get(row.officerId) ?? null },
      }),
    ], httpRequestId);
    await db.update(t).set({ sharedPublishedAt: Date.now() }).where(and(eq(t.requestId, requestId), isNull(t.sharedPublishedAt)));
  }
  return { requestId, sharedBy: consents.map((consent) => consent.userId) };
}
