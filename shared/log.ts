/**
 * The one logger: every line Tally writes is one JSON object on one line, which Workers Logs
 * (`[observability]` in wrangler.toml) indexes field by field, so an operator can filter on
 * `requestId`, `system` or an id instead of grepping free text. Durable Objects log through it
 * too, which is why it lives in shared/ and imports nothing of ours.
 *
 * Shape: `{"level","msg","requestId","system", ...the ids the line is about, "error"?}`.
 * `requestId` is the `x-request-id` of the HTTP request behind the work (carried through queues
 * as `httpRequestId`), or null for work no request started (a cron, an alarm).
 */

/** How bad a line is; `warn` and `error` go to the console's matching channels. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Which of Tally's systems a line is about (plus the shared plumbing). */
export type LogSystem = "campaigns" | "allezon" | "ads" | "incentives" | "connections" | "webhooks" | "platform";

/** A line's fields besides `level` and `msg`: the request, the system, and ids (never personal data). */
export interface LogFields {
  requestId?: string | null | undefined;
  system?: LogSystem;
  /** A thrown value: written as its name, message and stack. */
  error?: unknown;
  [id: string]: unknown;
}

/** A thrown value as JSON: an Error's own text and stack, anything else as a string. */
function describeError(error: unknown): unknown {
  if (error instanceof Error) {
    const cause = error.cause === undefined ? {} : { cause: describeError(error.cause) };
    return { name: error.name, message: error.message, stack: error.stack, ...cause };
  }
  return typeof error === "object" && error !== null ? error : String(error);
}

/**
 * Writes one line. Never throws: a field that cannot be serialised (a cycle, a BigInt) is replaced
 * by its string form, because a log call must not turn a handled failure into a crash.
 *
 * @example
 * log("warn", "rate missing; retrying", { system: "campaigns", requestId, purchaseId });
 */
export function log(level: LogLevel, msg: string, fields: LogFields = {}): void {
  const { requestId = null, system, error, ...ids } = fields;
  const line: Record<string, unknown> = { level, msg, requestId, ...(system ? { system } : {}), ...ids };
  if (error !== undefined) line.error = describeError(error);
  let text: string;
  try {
    text = JSON.stringify(line, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
  } catch {
    text = JSON.stringify({ level, msg, requestId, system, unserialisable: String(Object.keys(ids)) });
  }
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else if (level === "debug") console.debug(text);
  else console.log(text);
}

/** A logger with fields every line repeats (a system, a request id). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * A logger whose lines all carry `base`; a line's own fields win.
 *
 * @example
 * const logger = loggerFor({ system: "campaigns" });
 * logger.info("campaign started", { campaignId });
 */
export function loggerFor(base: LogFields): Logger {
  const at = (level: LogLevel) => (msg: string, fields: LogFields = {}) => log(level, msg, { ...base, ...fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
