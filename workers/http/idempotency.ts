import { idempotencyShardStub } from "../../durable-objects/idempotency-shard/stub.ts";
import { canonicalJson } from "../../shared/same-terms.ts";
import { ApiError } from "./problem.ts";

/**
 * Admits a client event id once per set of terms, in the id's `IdempotencyShard` (one object call,
 * no D1 write): resolves `false` the first time, `true` when the id was seen with the same terms
 * (a resend), and throws 409 when it was seen with other terms. Ids of `scope` are kept `keepMs`
 * (absent: forever). The caller sends its queue message after this resolves, on a resend too: a
 * crash between admitting and sending leaves the id admitted but unsent, and the client's resend
 * then sends it; consumers downstream count an id once.
 *
 * @example
 * await admitEventId(c.env, "purchase", purchaseId, payload);
 * await c.env.PURCHASE_EVENTS.send(message);
 */
export async function admitEventId(env: Env, scope: string, eventId: string, terms: unknown, keepMs?: number): Promise<boolean> {
  // The hash of the canonical JSON stands in for the terms: equal hashes are `sameTerms`.
  const termsHash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(terms)));
  const sighting = await idempotencyShardStub(env, scope, eventId).sight(scope, eventId, termsHash, keepMs);
  if (sighting === "conflict") {
    throw new ApiError("idempotency_conflict", `${scope} id ${eventId} was already used with a different payload`);
  }
  return sighting === "replay";
}
