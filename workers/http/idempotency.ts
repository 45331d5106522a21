import { and, eq } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { canonicalJson } from "../../shared/same-terms.ts";
import { ApiError } from "./problem.ts";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface FirstAnswer<T> {
  answer: T;
  /** True when this id was seen before with the same payload. */
  replayed: boolean;
}

/**
 * Records the first answer to a client event id. A resend with the same payload gets the first
 * answer back (`replayed`); the same id with a different payload is 409.
 *
 * @example
 * const { answer } = await rememberFirstAnswer(env.DB, "purchase", purchaseId, payload, { purchaseId });
 */
export async function rememberFirstAnswer<T>(
  d1: D1Database,
  scope: string,
  key: string,
  payload: unknown,
  answer: T,
): Promise<FirstAnswer<T>> {
  const db = database(d1);
  // The hash of the canonical JSON stands in for the payload: equal hashes are `sameTerms`.
  const requestHash = await sha256Hex(canonicalJson(payload));
  const inserted = await db
    .insert(schema.idempotencyKeys)
    .values({ scope, key, requestHash, response: JSON.stringify(answer), createdAt: Date.now() })
    .onConflictDoNothing()
    .returning({ key: schema.idempotencyKeys.key });
  if (inserted.length > 0) return { answer, replayed: false };
  const [first] = await db
    .select()
    .from(schema.idempotencyKeys)
    .where(and(eq(schema.idempotencyKeys.scope, scope), eq(schema.idempotencyKeys.key, key)));
  if (!first) throw new ApiError("unavailable", "idempotency record vanished; retry");
  if (first.requestHash !== requestHash) {
    throw new ApiError("idempotency_conflict", `${scope} id ${key} was already used with a different payload`);
  }
  return { answer: JSON.parse(first.response) as T, replayed: true };
}
