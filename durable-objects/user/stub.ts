// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import type { User } from "./user.ts";

/** The object of a user id. */
export function userStub(env: Env, userId: string): DurableObjectStub<User> {
  return env.USER.getByName(`user:${userId}`);
}
