import { z } from "zod";
import { unprocessableIssue } from "./validation.ts";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

/** Milliseconds since the epoch written as ISO 8601 UTC with milliseconds and `Z`. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses ISO 8601 UTC with `Z`; returns NaN for anything else. */
export function parseIsoUtc(text: string): number {
  return ISO_UTC.test(text) ? Date.parse(text) : Number.NaN;
}

/** A request timestamp: ISO 8601 UTC with `Z`, parsed to epoch milliseconds. */
export const isoUtcSchema = z
  .string()
  .meta({ format: "date-time", example: "2026-11-22T10:15:00.000Z" })
  .transform((text, ctx) => {
    const ms = parseIsoUtc(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: "must be ISO 8601 UTC such as 2026-11-22T10:15:00.000Z" });
      return z.NEVER;
    }
    return ms;
  });

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The UTC calendar day of an instant, as whole days since 1970-01-01 (what day-keyed counters store). */
export function utcDayNumber(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The UTC calendar day of an instant, written `2026-11-22` (what by-day reports show). */
export function utcDate(ms: number): string {
  return toIso(ms).slice(0, 10);
}

/** The next 00:00 UTC strictly after `ms`. */
export function nextUtcMidnight(ms: number): number {
  return (utcDayNumber(ms) + 1) * DAY_MS;
}

/** A `time_range` as its endpoints, epoch ms: `from` inclusive, `to` exclusive. */
export interface TimeRange {
  from: number;
  to: number;
}

/**
 * `<from>_<to>`, each ISO 8601 UTC with the `Z` optional (`2026-11-01T00:00:00Z_2026-12-01T00:00:00Z`).
 * Malformed is 400; a range that does not end after it starts is 422.
 */
export const isoTimeRangeSchema = z
  .string()
  .meta({ description: "`<from>_<to>`, ISO 8601 UTC (`Z` optional); `to` is exclusive", example: "2026-11-01T00:00:00Z_2026-12-01T00:00:00Z" })
  .transform((text, ctx): TimeRange => {
    const parts = text.split("_");
    const [from, to] = parts.map((part) => parseIsoUtc(part.endsWith("Z") ? part : `${part}Z`));
    if (parts.length !== 2 || from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to)) {
      ctx.addIssue({ code: "custom", message: "must be <from>_<to>, each ISO 8601 UTC such as 2026-11-01T00:00:00Z" });
      return z.NEVER;
    }
    if (to <= from) {
      ctx.addIssue(unprocessableIssue([], "the range must end after it starts"));
      return z.NEVER;
    }
    return { from, to };
  });
