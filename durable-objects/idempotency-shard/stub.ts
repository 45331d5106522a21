// How callers reach the object: kept apart from the class, like every object's stub module.
import { type IdempotencyShard, idempotencyShardOf } from "./idempotency-shard.ts";

/**
 * The object that holds `eventId` of `scope`: one of IDEMPOTENCY_SHARDS per scope. Cheap and
 * stable; ids a client chose to share a shard load only that shard (~1,000/s), not the others.
 */
export function idempotencyShardStub(env: Env, scope: string, eventId: string): DurableObjectStub<IdempotencyShard> {
  return env.IDEMPOTENCY_SHARD.getByName(`${scope}:${idempotencyShardOf(eventId)}`);
}
