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

/** How one API reads `time_range=<from>_<to>`: the form of an end, and what else a range must be. */
export interface TimeRangeRules {
  /** One end as epoch ms; NaN when it is malformed. */
  parseEnd: (text: string) => number;
  /** The 400 message when the text is not two well-formed ends joined by `_`. */
  malformed: string;
  /**
   * Further rules of a well-formed range, in order, each answering its 400 message or undefined;
   * they are checked before the order of the ends.
   */
  checks?: readonly ((range: TimeRange) => string | undefined)[];
  /** Whether a range with `to` equal to `from` (empty) is accepted; otherwise it is 422 like `to` before `from`. */
  allowEmpty: boolean;
  /** The 422 message of a range that ends before it starts (well-formed but impossible). */
  backwards: string;
  /** The parameter's OpenAPI description and example. */
  meta: { description: string; example: string };
}

/**
 * The one `time_range` parser: `<from>_<to>` into a TimeRange. Malformed text or a failed check is
 * 400 naming the parameter; a range that ends before it starts is 422.
 */
export function timeRangeSchema(rules: TimeRangeRules) {
  return z
    .string()
    .meta(rules.meta)
    .transform((text, ctx): TimeRange => {
      const parts = text.split("_");
      const from = parts.length === 2 ? rules.parseEnd(parts[0]!) : Number.NaN;
      const to = parts.length === 2 ? rules.parseEnd(parts[1]!) : Number.NaN;
      if (Number.isNaN(from) || Number.isNaN(to)) {
        ctx.addIssue({ code: "custom", message: rules.malformed });
        return z.NEVER;
      }
      for (const check of rules.checks ?? []) {
        const message = check({ from, to });
        if (message !== undefined) {
          ctx.addIssue({ code: "custom", message });
          return z.NEVER;
        }
      }
      if (rules.allowEmpty ? to < from : to <= from) {
        ctx.addIssue(unprocessableIssue([], rules.backwards));
        return z.NEVER;
      }
      return { from, to };
    });
}

/**
 * `<from>_<to>`, each ISO 8601 UTC with the `Z` optional (`2026-11-01T00:00:00Z_2026-12-01T00:00:00Z`).
 * Malformed is 400; a range that does not end after it starts is 422.
 */
export const isoTimeRangeSchema = timeRangeSchema({
  parseEnd: (end) => parseIsoUtc(end.endsWith("Z") ? end : `${end}Z`),
  malformed: "must be <from>_<to>, each ISO 8601 UTC such as 2026-11-01T00:00:00Z",
  allowEmpty: false,
  backwards: "the range must end after it starts",
  meta: { description: "`<from>_<to>`, ISO 8601 UTC (`Z` optional); `to` is exclusive", example: "2026-11-01T00:00:00Z_2026-12-01T00:00:00Z" },
});
