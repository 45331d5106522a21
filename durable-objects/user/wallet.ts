import type { Money, MoneyJson } from "../../shared/money.ts";
import { toMoneyJson } from "../../shared/money.ts";
import { toIso } from "../../shared/time.ts";
import { firstRow, rows } from "../sql.ts";

export const WALLET_SCHEMA = [
  `CREATE TABLE wallet_entries (
     ref TEXT PRIMARY KEY,
     points INTEGER NOT NULL DEFAULT 0,
     money_minor INTEGER NOT NULL DEFAULT 0,
     currency TEXT,
     reason TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
  "CREATE INDEX wallet_entries_by_time ON wallet_entries (created_at DESC, ref)",
  // A citizen's connections per officer per UTC day, for POINTS_PAIR_DAILY_CAP (see claimPairConnection).
  `CREATE TABLE pair_connections (
     ref TEXT PRIMARY KEY,
     partner_id TEXT NOT NULL,
     day INTEGER NOT NULL,
     credited INTEGER NOT NULL
   )`,
  "CREATE INDEX pair_connections_by_day ON pair_connections (partner_id, day)",
] as const;

/** One line of the ledger. `ref` is the id of the effect (prize, connection, redemption…). */
export interface WalletEntry {
  ref: string;
  points: number;
  money: MoneyJson | null;
  reason: string;
  createdAt: string;
}

export interface WalletView {
  points: number;
  money: MoneyJson[];
  entries: WalletEntry[];
}

type EntryRow = {
  ref: string;
  points: number;
  money_minor: number;
  currency: string | null;
  reason: string;
  created_at: number;
};

function toEntry(row: EntryRow): WalletEntry {
  return {
    ref: row.ref,
    points: row.points,
    money: row.currency ? toMoneyJson({ minor: row.money_minor, currency: row.currency }) : null,
    reason: row.reason,
    createdAt: toIso(row.created_at),
  };
}

/**
 * A user's ledger of points and prize money. Every entry is keyed by the id of the effect that
 * made it, so a retried credit or debit finds its first entry instead of counting twice. Points
 * never go below zero: the object runs one call at a time, so a debit's check and write cannot
 * interleave with another's.
 */
export class WalletLedger {
  private points: number;

  constructor(private readonly sql: SqlStorage) {
    this.points = firstRow<{ points: number }>(sql, "SELECT COALESCE(SUM(points), 0) AS points FROM wallet_entries")!.points;
  }

  entry(ref: string): WalletEntry | undefined {
    const row = firstRow<EntryRow>(this.sql, "SELECT * FROM wallet_entries WHERE ref = ?", ref);
    return row && toEntry(row);
  }

  /** Adds points and/or money once per `ref`; returns the entry and whether it already existed. */
  credit(ref: string, reason: string, points: number, money?: Money): { entry: WalletEntry; replayed: boolean } {
    const existing = this.entry(ref);
    if (existing) return { entry: existing, replayed: true };
    this.insert(ref, reason, points, money);
    return { entry: this.entry(ref)!, replayed: false };
  }

  /**
   * Takes points once per `ref`, or refuses when the balance is short. A repeated `ref` returns
   * the first outcome of that ref (a refused debit is not remembered, so it may be retried).
   */
  debitPoints(ref: string, reason: string, points: number): { entry: WalletEntry; replayed: boolean } | "insufficient" {
    const existing = this.entry(ref);
    if (existing) return { entry: existing, replayed: true };
    if (this.points < points) return "insufficient";
    this.insert(ref, reason, -points);
    return { entry: this.entry(ref)!, replayed: false };
  }

  /**
   * Decides once per `ref` (a connection) whether it earns points: yes while fewer than `cap`
   * connections with `partnerId` earned points on that UTC day. A resent `ref` gets its first answer,
   * so both wallets and every retry agree.
   */
  claimPairConnection(ref: string, partnerId: string, day: number, cap: number): boolean {
    const existing = firstRow<{ credited: number }>(this.sql, "SELECT credited FROM pair_connections WHERE ref = ?", ref);
    if (existing) return existing.credited === 1;
    const { earned } = firstRow<{ earned: number }>(
      this.sql,
      "SELECT COUNT(*) AS earned FROM pair_connections WHERE partner_id = ? AND day = ? AND credited = 1",
      partnerId,
      day,
    )!;
    const credited = earned < cap;
    this.sql.exec("INSERT INTO pair_connections (ref, partner_id, day, credited) VALUES (?, ?, ?, ?)", ref, partnerId, day, credited ? 1 : 0);
    return credited;
  }

  balance(): number {
    return this.points;
  }

  view(limit = 100): WalletView {
    const money = rows<{ currency: string; minor: number }>(
      this.sql,
      "SELECT currency, SUM(money_minor) AS minor FROM wallet_entries WHERE currency IS NOT NULL GROUP BY currency ORDER BY currency",
    ).map((row) => toMoneyJson({ minor: row.minor, currency: row.currency }));
    const entries = rows<EntryRow>(
      this.sql,
      "SELECT * FROM wallet_entries ORDER BY created_at DESC, rowid DESC LIMIT ?",
      limit,
    ).map(toEntry);
    return { points: this.points, money, entries };
  }

  private insert(ref: string, reason: string, points: number, money?: Money): void {
    this.sql.exec(
      "INSERT INTO wallet_entries (ref, points, money_minor, currency, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ref,
      points,
      money?.minor ?? 0,
      money?.currency ?? null,
      reason,
      Date.now(),
    );
    this.points += points;
  }
}
