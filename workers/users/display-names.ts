import { inArray } from "drizzle-orm";
import { readByJsonIds, writeJsonRows } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { boardStub } from "../../durable-objects/campaign-board/stub.ts";

export interface DisplayName {
  userId: string;
  displayName: string;
  /** An officer's precinct (officers import); when absent the stored precinct is kept. */
  precinct?: string;
}

/**
 * Sets users' display names (and officers' precincts): stores them in D1 (one batch), then hands each board that ranks any
 * of them its users' new names, so leaderboard reads and live sockets show them at once. The one
 * path for a single `PUT /users/{id}/profile` and for a bulk import of many users.
 *
 * The names are written before the boards are listed; a board registers a user before it reads
 * the user's name (CampaignBoard `meetNewUsers`), so a first purchase racing a rename still ends
 * with the new name on the board. Idempotent: sending the same names again changes nothing.
 */
export async function setDisplayNames(env: Env, names: readonly DisplayName[]): Promise<void> {
  if (names.length === 0) return;
  const db = database(env.DB);
  const now = Date.now();
  // The last name given for a user wins, as if the rows had been sent one by one.
  const latest = new Map(names.map((entry) => [Number(entry.userId), entry]));
  const rows = [...latest].map(([userId, entry]) => ({ userId, displayName: entry.displayName, precinct: entry.precinct ?? null }));
  // Bound as JSON (`writeJsonRows`): a bulk import of 100,000 users is a few statements, not thousands.
  await writeJsonRows(
    env.DB,
    `INSERT INTO user_profiles (user_id, display_name, precinct, updated_at)
     SELECT value ->> 'userId', value ->> 'displayName', value ->> 'precinct', ?2 FROM json_each(?1) WHERE true
     ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
       precinct = coalesce(excluded.precinct, user_profiles.precinct), updated_at = excluded.updated_at`,
    rows,
    now,
  );
  const participants = await readByJsonIds([...latest.keys()], (ids) =>
    db.select().from(schema.campaignParticipants).where(inArray(schema.campaignParticipants.userId, ids)),
  );
  const boards = Map.groupBy(participants, (row) => row.campaignId);
  await Promise.all(
    [...boards].map(async ([campaignId, rows]) =>
      boardStub(env, String(campaignId)).rename(rows.map(({ userId }): DisplayName => ({ userId: String(userId), displayName: latest.get(userId)!.displayName }))),
    ),
  );
}
