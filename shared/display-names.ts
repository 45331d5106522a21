import { inArray } from "drizzle-orm";
import { d1Chunks } from "./db/chunks.ts";
import { database, schema } from "./db/client.ts";

/**
 * Stored display names of these users; users without one are absent from the map. The read lives
 * in shared/ because objects (a ZipArea naming an officer) need it as well as workers; the writes,
 * which also tell the boards, stay in workers/users/display-names.ts.
 */
export async function displayNamesOf(d1: D1Database, userIds: readonly string[]): Promise<Map<string, string>> {
  const db = database(d1);
  const found = new Map<string, string>();
  for (const part of d1Chunks(userIds.map(Number), 1)) {
    const rows = await db
      .select({ userId: schema.displayNames.userId, displayName: schema.displayNames.displayName })
      .from(schema.displayNames)
      .where(inArray(schema.displayNames.userId, part));
    for (const row of rows) found.set(String(row.userId), row.displayName);
  }
  return found;
}
