import { sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "./client.ts";

/**
 * D1 binds at most 100 parameters per statement (local D1 enforces it too), so every multi-row
 * insert and every `IN (…)` list whose length depends on input is split with these helpers.
 */

/** The most parameters D1 binds in one statement. */
export const D1_MAX_BOUND_PARAMETERS = 100;

/** Splits `items` into consecutive parts of at most `size` items (none when `items` is empty). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}

/**
 * Splits rows (or ids of an `IN` list) so that each statement binds at most 100 parameters:
 * `paramsPerRow` for each row (1 for an id) plus `fixedParams` the rest of the statement binds
 * once (a `SET` value, another condition, a `LIMIT`).
 */
export function d1Chunks<T>(items: readonly T[], paramsPerRow: number, fixedParams = 0): T[][] {
  const perStatement = Math.floor((D1_MAX_BOUND_PARAMETERS - fixedParams) / paramsPerRow);
  if (perStatement < 1) throw new RangeError(`${paramsPerRow} parameters a row and ${fixedParams} fixed do not fit one D1 statement`);
  return chunk(items, perStatement);
}

/**
 * Bytes of JSON bound as one parameter by `jsonChunks`: half of the 2,000,000 bytes D1 takes in one
 * string. A list bound as one JSON string and unpacked by SQLite's `json_each` costs one parameter
 * however long it is, so a bulk read or write of 100,000 rows is a handful of statements rather than
 * thousands — within the 1,000 queries one Worker invocation may make on Cloudflare.
 */
export const D1_JSON_PARAMETER_BYTES = 1_000_000;

/** Splits `items` into consecutive parts whose JSON is at most `maxBytes` of UTF-8 each (none when empty). */
export function jsonChunks<T>(items: readonly T[], maxBytes = D1_JSON_PARAMETER_BYTES): T[][] {
  const encoder = new TextEncoder();
  const parts: T[][] = [];
  let part: T[] = [];
  // `[` and `]`, then each item and its comma.
  let bytes = 2;
  for (const item of items) {
    const size = encoder.encode(JSON.stringify(item)).byteLength + 1;
    if (size + 2 > maxBytes) throw new RangeError(`one item of ${size} bytes does not fit a ${maxBytes}-byte JSON parameter`);
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(part);
      part = [];
      bytes = 2;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/**
 * The rows of `json_each(?)` over one part of `jsonChunks`, bound as a single parameter: as an `IN`
 * list, `inArray(column, jsonEach(part))`; as rows to insert, `SELECT value ->> 'field' FROM` it.
 */
export function jsonEach(part: readonly unknown[]): SQL {
  return sql`(SELECT value FROM json_each(${JSON.stringify(part)}))`;
}

/**
 * The rows `read` finds for `ids`, the ids bound as JSON one part at a time:
 * `read` gets each part as `jsonEach(part)`, for `inArray(column, ids)`.
 */
export async function readByJsonIds<I, T>(ids: readonly I[], read: (ids: SQL) => Promise<T[]>): Promise<T[]> {
  const found: T[] = [];
  for (const part of jsonChunks(ids)) found.push(...(await read(jsonEach(part))));
  return found;
}

/**
 * Runs `statement` once per `jsonChunks` part of `rows`, all in one D1 batch so they commit together
 * or not at all: its SQL reads the part as `json_each(?1)` (`SELECT value ->> 'field' …`) and takes
 * `params` as ?2 onwards. Raw D1, as drizzle's batch cannot run raw SQL.
 *
 * @example
 * await writeJsonRows(env.DB, "INSERT INTO t (id, at) SELECT value ->> 'id', ?2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING", rows, now);
 */
export async function writeJsonRows(d1: D1Database, statement: string, rows: readonly unknown[], ...params: unknown[]): Promise<void> {
  const parts = jsonChunks(rows).map((part) => d1.prepare(statement).bind(JSON.stringify(part), ...params));
  if (parts.length > 0) await d1.batch(parts);
}

/**
 * Runs the statements in one D1 batch, so the chunks of one write commit together or not at all;
 * does nothing when there are none.
 */
export async function runInOneBatch(db: Database, statements: readonly BatchItem<"sqlite">[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
