import type { Context } from "hono";
import type { z } from "zod";
import type { FieldError } from "../../shared/errors.ts";
import { UNPROCESSABLE } from "../../shared/validation.ts";
import { ApiError } from "./problem.ts";

const TARGET_PREFIX: Record<string, string> = { json: "", query: "query.", param: "path.", header: "header." };

/** Turns zod issues into the `errors[]` of a problem document, one entry per bad field. */
export function fieldErrors(error: z.ZodError, target = "json"): FieldError[] {
  const prefix = TARGET_PREFIX[target] ?? `${target}.`;
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return { path: `${prefix}${path}` || "body", message: issue.message };
  });
}

function isUnprocessable(issue: z.core.$ZodIssue): boolean {
  return issue.code === "custom" && (issue as { params?: { kind?: string } }).params?.kind === UNPROCESSABLE;
}

/**
 * The default hook of every OpenAPIHono router: a failed validation becomes a 400 problem naming
 * each field, or 422 when every issue is "well-formed but impossible".
 */
export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError; target: string },
  _c: Context,
): void {
  if (result.success) return;
  const errors = fieldErrors(result.error, result.target);
  const impossible = result.error.issues.every(isUnprocessable);
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  throw new ApiError(impossible ? "unprocessable" : "validation_failed", summary, { errors });
}

