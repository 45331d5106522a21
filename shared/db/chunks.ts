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
 * Runs the statements in one D1 batch, so the chunks of one write commit together or not at all;
 * does nothing when there are none.
 */
export async function runInOneBatch(db: Database, statements: readonly BatchItem<"sqlite">[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
