// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import type { ZipArea } from "./zip-area.ts";

/** The area of a zip code. */
export function zipAreaStub(env: Env, zip: string): DurableObjectStub<ZipArea> {
  return env.ZIP_AREA.getByName(zip);
}
