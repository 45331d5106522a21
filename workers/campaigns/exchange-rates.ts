import { and, desc, eq, lte, or, sql } from "drizzle-orm";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";

export type RateRow = typeof schema.exchangeRates.$inferSelect;

/** Parameters one rate row binds: base, quote, rate, effectiveFrom. */
const RATE_COLUMNS = 4;

/**
 * Stores `1 base = rate quote` for each quote from `effectiveFrom`, all or nothing (one D1 batch,
 * split so no statement binds more than D1 allows). A rate already stored with the same
 * `effectiveFrom` is overwritten by the new one.
 */
export async function putRates(d1: D1Database, base: string, rates: Record<string, string>, effectiveFrom: number): Promise<void> {
  const db = database(d1);
  const t = schema.exchangeRates;
  const rows = Object.entries(rates).map(([quote, rate]) => ({ base, quote, rate, effectiveFrom }));
  const statements = d1Chunks(rows, RATE_COLUMNS).map((part) =>
    db
      .insert(t)
      .values(part)
      .onConflictDoUpdate({ target: [t.base, t.quote, t.effectiveFrom], set: { rate: sql`excluded.rate` } }),
  );
  await runInOneBatch(db, statements);
}

/** The latest rate of each quote of `base` in force at `at`. */
export async function ratesInForce(d1: D1Database, base: string, at: number): Promise<RateRow[]> {
  const rows = await database(d1)
    .select()
    .from(schema.exchangeRates)
    .where(and(eq(schema.exchangeRates.base, base), lte(schema.exchangeRates.effectiveFrom, at)))
    .orderBy(desc(schema.exchangeRates.effectiveFrom));
  const latest = new Map<string, RateRow>();
  for (const row of rows) if (!latest.has(row.quote)) latest.set(row.quote, row);
  return [...latest.values()].sort((a, b) => a.quote.localeCompare(b.quote));
}

/** A rate usable to convert `from` into `to`: stored that way, or stored the other way (inverse). */
export interface UsableRate {
  rate: string;
  inverse: boolean;
  effectiveFrom: number;
}

/**
 * Looks up rates for many conversions at once: one query per currency pair, then the latest
 * row in force at each timestamp, whichever direction it was stored in.
 */
export class RateBook {
  private readonly pairs = new Map<string, Promise<RateRow[]>>();

  constructor(private readonly d1: D1Database) {}

  async find(from: string, to: string, at: number): Promise<UsableRate | undefined> {
    const rows = await this.pairRows(from, to);
    const row = rows.find((r) => r.effectiveFrom <= at);
    return row && { rate: row.rate, inverse: row.base !== from, effectiveFrom: row.effectiveFrom };
  }

  private pairRows(from: string, to: string): Promise<RateRow[]> {
    const key = [from, to].sort().join("/");
    let rows = this.pairs.get(key);
    if (!rows) {
      const t = schema.exchangeRates;
      rows = database(this.d1)
        .select()
        .from(t)
        .where(or(and(eq(t.base, from), eq(t.quote, to)), and(eq(t.base, to), eq(t.quote, from))))
        .orderBy(desc(t.effectiveFrom));
      this.pairs.set(key, rows);
    }
    return rows;
  }
}
