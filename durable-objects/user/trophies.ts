/**
 * A user's trophies (the seed's "virtual trophies"): counted from the connections and donations the
 * user made, each counted once by its id, and each trophy earned once. Plain SQLite in the user's
 * object, which runs one call at a time, so a count and the award it triggers cannot interleave.
 */
import { toIso } from "../../shared/time.ts";
import { firstRow, rows } from "../sql.ts";

/** Every trophy there is, with the name clients show, in the order they are usually earned. */
export const TROPHIES = {
  "first-connection": "First connection",
  "ten-connections": "Ten connections",
  "fifty-connections": "Fifty connections",
  "first-donation": "First donation",
  generous: "Generous",
} as const;

export type TrophyId = keyof typeof TROPHIES;
export const TROPHY_IDS = Object.keys(TROPHIES) as [TrophyId, ...TrophyId[]];

/** Established connections that earn a trophy. */
const CONNECTION_TROPHIES: ReadonlyArray<[number, TrophyId]> = [
  [1, "first-connection"],
  [10, "ten-connections"],
  [50, "fifty-connections"],
];
/** Points donated in all that earn `generous`. */
export const GENEROUS_POINTS = 500;

/** How many zips' sockets a new trophy is pushed to: the most recently opened. */
const REMEMBERED_SOCKET_ZIPS = 5;

export const TROPHY_SCHEMA = [
  "CREATE TABLE trophy_connections (request_id TEXT PRIMARY KEY, established_at INTEGER NOT NULL)",
  "CREATE TABLE trophy_donations (donation_id TEXT PRIMARY KEY, points INTEGER NOT NULL, donated_at INTEGER NOT NULL)",
  "CREATE TABLE trophies (trophy_id TEXT PRIMARY KEY, earned_at INTEGER NOT NULL)",
  "CREATE TABLE socket_zips (zip TEXT PRIMARY KEY, opened_at INTEGER NOT NULL)",
] as const;

export interface Trophy {
  trophyId: TrophyId;
  name: string;
  earnedAt: string;
}

/** What a public profile shows of the user's activity: no points, no places. */
export interface TrophyCase {
  connections: number;
  trophies: Trophy[];
}

export interface CountedConnection {
  requestId: string;
  /** Epoch ms; becomes `earnedAt` of a trophy this connection earns. */
  establishedAt: number;
}

export interface CountedDonation {
  donationId: string;
  points: number;
  /** Epoch ms. */
  donatedAt: number;
}

function toTrophy(row: { trophy_id: string; earned_at: number }): Trophy {
  const trophyId = row.trophy_id as TrophyId;
  return { trophyId, name: TROPHIES[trophyId], earnedAt: toIso(row.earned_at) };
}

export class TrophyShelf {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Counts connections not counted before (by request id, so a redelivered message changes
   * nothing) and returns the trophies that earned, oldest connection first.
   */
  countConnections(connections: readonly CountedConnection[]): Trophy[] {
    const earned: Trophy[] = [];
    for (const connection of [...connections].sort((a, b) => a.establishedAt - b.establishedAt)) {
      const { rowsWritten } = this.sql.exec(
        "INSERT INTO trophy_connections (request_id, established_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        connection.requestId,
        connection.establishedAt,
      );
      if (rowsWritten === 0) continue;
      const count = this.connectionCount();
      for (const [needed, trophyId] of CONNECTION_TROPHIES) {
        if (count >= needed) earned.push(...this.award(trophyId, connection.establishedAt));
      }
    }
    return earned;
  }

  /** Counts a donation once by its id; returns the trophies it earned. */
  countDonation(donation: CountedDonation): Trophy[] {
    const { rowsWritten } = this.sql.exec(
      "INSERT INTO trophy_donations (donation_id, points, donated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      donation.donationId,
      donation.points,
      donation.donatedAt,
    );
    if (rowsWritten === 0) return [];
    const earned = this.award("first-donation", donation.donatedAt);
    const donated = firstRow<{ points: number }>(this.sql, "SELECT COALESCE(SUM(points), 0) AS points FROM trophy_donations")!.points;
    if (donated >= GENEROUS_POINTS) earned.push(...this.award("generous", donation.donatedAt));
    return earned;
  }

  view(): TrophyCase {
    const trophies = rows<{ trophy_id: string; earned_at: number }>(
      this.sql,
      "SELECT trophy_id, earned_at FROM trophies ORDER BY earned_at, rowid",
    ).map(toTrophy);
    return { connections: this.connectionCount(), trophies };
  }

  /** Remembers that the user opened a socket in `zip`, so a new trophy can be pushed there. */
  socketOpened(zip: string, at: number): void {
    this.sql.exec(
      "INSERT INTO socket_zips (zip, opened_at) VALUES (?, ?) ON CONFLICT (zip) DO UPDATE SET opened_at = excluded.opened_at",
      zip,
      at,
    );
    this.sql.exec(
      "DELETE FROM socket_zips WHERE zip NOT IN (SELECT zip FROM socket_zips ORDER BY opened_at DESC LIMIT ?)",
      REMEMBERED_SOCKET_ZIPS,
    );
  }

  /** The zips where the user most recently opened a socket. */
  socketZips(): string[] {
    return rows<{ zip: string }>(this.sql, "SELECT zip FROM socket_zips ORDER BY opened_at DESC").map((row) => row.zip);
  }

  private connectionCount(): number {
    return firstRow<{ n: number }>(this.sql, "SELECT COUNT(*) AS n FROM trophy_connections")!.n;
  }

  /** The trophy as newly earned, or nothing when the user already has it. */
  private award(trophyId: TrophyId, at: number): Trophy[] {
    const { rowsWritten } = this.sql.exec(
      "INSERT INTO trophies (trophy_id, earned_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
      trophyId,
      at,
    );
    return rowsWritten === 0 ? [] : [toTrophy({ trophy_id: trophyId, earned_at: at })];
  }
}
