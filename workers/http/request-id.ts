/**
 * Where a request's id comes from. Hono's `requestId` middleware keeps a well-formed incoming
 * `x-request-id` (at most MAX_REQUEST_ID_LENGTH characters of `[A-Za-z0-9_=-]`) and otherwise
 * calls this generator, which takes the trace id of a well-formed W3C `traceparent` (so a caller
 * that traces sees its own id in Tally's answers and logs) or makes a new UUID.
 */
import type { Context } from "hono";

/** Longest incoming `x-request-id` kept: room for any UUID, ULID or trace id, not for a payload. */
export const MAX_REQUEST_ID_LENGTH = 128;

/** `version-traceid-parentid-flags` (W3C Trace Context); version ff and all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;

/** The trace id of a valid `traceparent` header, if there is one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, rest] = match;
  if (version === "ff" || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (version === "00" && rest !== undefined) return undefined;
  return traceId;
}

/** The generator for Hono's `requestId`: the traceparent's trace id, else a new UUID. */
export function requestIdFromTrace(c: Context): string {
  return traceIdOf(c.req.header("traceparent")) ?? crypto.randomUUID();
}
