// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import { shardName, type TagAggregates } from "./tag-aggregates.ts";

/** The object of the hour shard that starts at `shardStart`. */
export function tagAggregatesStub(env: Env, shardStart: number): DurableObjectStub<TagAggregates> {
  return env.TAG_AGGREGATES.getByName(shardName(shardStart));
}
