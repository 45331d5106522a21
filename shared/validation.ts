import type { z } from "zod";

/**
 * Marks a zod issue as "well-formed but impossible" (end before start, unknown currency), which
 * the HTTP layer answers with 422 rather than 400.
 */
export const UNPROCESSABLE = "unprocessable";

export function unprocessableIssue(path: PropertyKey[], message: string): z.core.$ZodRawIssue {
  return { code: "custom", path, message, params: { kind: UNPROCESSABLE }, input: undefined };
}
