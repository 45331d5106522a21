import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_STATUS, type ErrorCode, type FieldError, type Result } from "../../shared/errors.ts";
import { log } from "../../shared/log.ts";

const TITLES: Record<ErrorCode, string> = {
  validation_failed: "Invalid request",
  malformed_json: "Malformed JSON",
  unauthorized: "Missing or invalid token",
  forbidden: "Not allowed",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  conflict: "Conflict",
  idempotency_conflict: "Id reused with a different payload",
  insufficient_points: "Not enough points",
  out_of_stock: "Out of stock",
  already_used: "Already used",
  expired: "Expired",
  payload_too_large: "Body too large",
  unsupported_media_type: "Unsupported body type",
  unprocessable: "Well-formed but impossible",
  rate_limited: "Too many requests",
  internal: "Internal error",
  unavailable: "Temporarily unavailable",
};

/**
 * The one error Tally throws from handlers. It carries a code from the closed table in
 * `shared/errors.ts`; `onError` renders it as problem+json.
 *
 * @example
 * throw new ApiError("not_found", "no campaign 7");
 */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, detail: string, options: { errors?: FieldError[]; cause?: unknown } = {}) {
    super(ERROR_STATUS[code] as ContentfulStatusCode, { message: detail, cause: options.cause });
    this.code = code;
    this.errors = options.errors;
  }
}

/** Unwraps a Durable Object's typed result, turning `{ok:false}` into the matching ApiError. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.code, result.detail, result.errors ? { errors: result.errors } : {});
}

/** Writes an RFC 9457 problem document; the request id ties it to the logs. */
export function problemResponse(c: Context, error: ApiError, headers: Record<string, string> = {}): Response {
  const status = ERROR_STATUS[error.code];
  const body = {
    type: `https://tally.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: TITLES[error.code],
    status,
    detail: error.message,
    code: error.code,
    requestId: c.get("requestId") ?? c.res.headers.get("x-request-id") ?? "",
    errors: error.errors ?? [],
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", "x-request-id": body.requestId, ...headers },
  });
}

/**
 * The single error handler: known errors keep their status, a stray HTTPException from a Hono
 * middleware is mapped onto the code table, and anything else is a logged, generic 500.
 */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) {
    if (ERROR_STATUS[error.code] >= 500) log("error", error.message, { requestId: c.get("requestId"), system: "platform", route: c.req.path, error: error.cause });
    return problemResponse(c, error);
  }
  if (error instanceof HTTPException) {
    const code = codeForStatus(error.status, error.message);
    return problemResponse(c, new ApiError(code, error.message || TITLES[code]));
  }
  log("error", "unhandled error", { requestId: c.get("requestId"), system: "platform", route: c.req.path, error });
  return problemResponse(c, new ApiError("internal", "Something went wrong on our side; the request id identifies it."));
}

function codeForStatus(status: number, message: string): ErrorCode {
  if (status === 400) return /json/i.test(message) ? "malformed_json" : "validation_failed";
  const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((k) => ERROR_STATUS[k] === status);
  return code ?? "internal";
}
