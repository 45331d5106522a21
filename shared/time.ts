import { z } from "zod";

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
