// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import { profileShardOf, type ProfileStore } from "./profile-store.ts";

/** The object holding the profile of `cookie`. */
export function profileStoreStub(env: Env, cookie: string): DurableObjectStub<ProfileStore> {
  return profileShardStub(env, profileShardOf(cookie));
}

/** The profile shard number `shard` (`profiles:7`). */
export function profileShardStub(env: Env, shard: number): DurableObjectStub<ProfileStore> {
  return env.PROFILE_STORE.getByName(`profiles:${shard}`);
}
