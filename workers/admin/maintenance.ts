import { lt } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { DAY_MS } from "../../shared/time.ts";

/** How long a client event id is remembered: resends later than this are treated as new. */
export const IDEMPOTENCY_RETENTION_MS = 30 * DAY_MS;

/** The daily cron: forgets event ids older than the retention window, so the table stays small. */
export async function pruneIdempotencyKeys(env: Env, now = Date.now()): Promise<void> {
  await database(env.DB).delete(schema.idempotencyKeys).where(lt(schema.idempotencyKeys.createdAt, now - IDEMPOTENCY_RETENTION_MS));
}
