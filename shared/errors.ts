/**
 * The closed set of error codes Tally answers with, and the HTTP status of each. Durable Objects
 * return these codes in typed results; the Worker turns them into problem+json responses.
 */
export const ERROR_STATUS = {
  validation_failed: 400,
  malformed_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  insufficient_points: 409,
  out_of_stock: 409,
  already_used: 409,
  expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One bad field: `path` is dotted (`amount.value`, `query.limit`), `message` says what is wrong. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * What a Durable Object returns across RPC instead of throwing: a thrown error loses its
 * properties at the RPC boundary, a returned value does not.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; detail: string; errors?: FieldError[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, detail: string, errors?: FieldError[]): Result<never> =>
  errors ? { ok: false, code, detail, errors } : { ok: false, code, detail };
