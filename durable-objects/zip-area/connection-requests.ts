import { sameTerms } from "../../shared/same-terms.ts";
import { firstRow, rows } from "../sql.ts";

/** How long a connection request waits for the officer's answer. */
export const REQUEST_TTL_MS = 60_000;

export type ConnectionStatus = "pending" | "accepted" | "declined" | "expired";

export interface ConnectionView {
  requestId: string;
  citizenId: string;
  officerId: string;
  zip: string;
  status: ConnectionStatus;
  /** Epoch ms. */
  createdAt: number;
}

export interface ConnectionRequestInput {
  requestId: string;
  zip: string;
  citizenId: string;
  officerId: string;
  lat: number;
  lng: number;
}

/** A row of the `requests` table (its schema is part of ZipArea's migrations). */
export type RequestRow = {
  request_id: string;
  zip: string;
  citizen_id: string;
  officer_id: string;
  citizen_lat: number;
  citizen_lng: number;
  status: ConnectionStatus;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  points_each: number | null;
  /** 1 once both wallets are credited and the connection is published. */
  credited_and_published: number;
};

/** The request as `GET /connections/{id}` shows it. */
export function toView(row: RequestRow): ConnectionView {
  return {
    requestId: row.request_id,
    citizenId: row.citizen_id,
    officerId: row.officer_id,
    zip: row.zip,
    status: row.status,
    createdAt: row.created_at,
  };
}

/**
 * The connection-request handshake of one zip area, over its SQLite: a citizen's request is
 * pending for `REQUEST_TTL_MS`, then accepted, declined or expired exactly once; an accepted one
 * waits to be credited (both wallets, the published connection) until `markCredited`. The object
 * runs one call at a time, so each read-then-write here is atomic. Sockets and effects stay in
 * `ZipArea`.
 */
export class ConnectionRequests {
  /** `onExpired` hears of every request the moment it is stored as expired (to tell the citizen). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly onExpired: (row: RequestRow) => void = () => {},
  ) {}

  /** The request as it stands at `now`: a pending one past its deadline is stored and returned as expired. */
  find(requestId: string, now: number): RequestRow | undefined {
    const row = firstRow<RequestRow>(this.sql, "SELECT * FROM requests WHERE request_id = ?", requestId);
    if (row?.status !== "pending" || row.expires_at > now) return row;
    this.sql.exec("UPDATE requests SET status = 'expired', decided_at = expires_at WHERE request_id = ?", requestId);
    const expired: RequestRow = { ...row, status: "expired", decided_at: row.expires_at };
    this.onExpired(expired);
    return expired;
  }

  /** The stored request of this id, without expiring it. */
  stored(requestId: string): RequestRow | undefined {
    return firstRow<RequestRow>(this.sql, "SELECT * FROM requests WHERE request_id = ?", requestId);
  }

  /** Whether a stored request carries the same payload as `input` (a resend rather than a reuse of the id). */
  static samePayload(row: RequestRow, input: ConnectionRequestInput): boolean {
    const stored = { citizenId: row.citizen_id, officerId: row.officer_id, zip: row.zip, lat: row.citizen_lat, lng: row.citizen_lng };
    const sent = { citizenId: input.citizenId, officerId: input.officerId, zip: input.zip, lat: input.lat, lng: input.lng };
    return sameTerms(stored, sent);
  }

  /** Opens a pending request; returns when it expires. */
  open(input: ConnectionRequestInput, now: number): number {
    const expiresAt = now + REQUEST_TTL_MS;
    this.sql.exec(
      `INSERT INTO requests (request_id, zip, citizen_id, officer_id, citizen_lat, citizen_lng, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      input.requestId,
      input.zip,
      input.citizenId,
      input.officerId,
      input.lat,
      input.lng,
      now,
      expiresAt,
    );
    return expiresAt;
  }

  /** Pending requests to an officer that have not expired, oldest first (resent to a reconnecting app). */
  waitingFor(officerId: string, now: number): RequestRow[] {
    return rows<RequestRow>(
      this.sql,
      "SELECT * FROM requests WHERE officer_id = ? AND status = 'pending' AND expires_at > ? ORDER BY created_at",
      officerId,
      now,
    );
  }

  /** Accepts a pending request with the points each party gets; it waits to be credited. */
  accept(row: RequestRow, now: number, pointsEach: number): RequestRow {
    this.sql.exec(
      "UPDATE requests SET status = 'accepted', decided_at = ?, points_each = ? WHERE request_id = ?",
      now,
      pointsEach,
      row.request_id,
    );
    return { ...row, status: "accepted", decided_at: now, points_each: pointsEach };
  }

  decline(requestId: string, now: number): void {
    this.sql.exec("UPDATE requests SET status = 'declined', decided_at = ? WHERE request_id = ?", now, requestId);
  }

  /** Expires every pending request whose deadline has passed. */
  expireDue(now: number): void {
    const expired = rows<RequestRow>(
      this.sql,
      "UPDATE requests SET status = 'expired', decided_at = expires_at WHERE status = 'pending' AND expires_at <= ? RETURNING *",
      now,
    );
    for (const row of expired) this.onExpired(row);
  }

  /** Accepted requests decided at or before `decidedBy` that are not credited yet. */
  uncredited(decidedBy: number): RequestRow[] {
    return rows<RequestRow>(this.sql, "SELECT * FROM requests WHERE status = 'accepted' AND credited_and_published = 0 AND decided_at <= ?", decidedBy);
  }

  markCredited(requestId: string): void {
    this.sql.exec("UPDATE requests SET credited_and_published = 1 WHERE request_id = ?", requestId);
  }

  /** Forgets finished requests decided before `before` (reports live in D1). */
  prune(before: number): void {
    this.sql.exec("DELETE FROM requests WHERE decided_at < ? AND (credited_and_published = 1 OR status IN ('declined', 'expired'))", before);
  }

  /** The next moment a request needs the alarm: a pending one expiring, or an uncredited one's retry. */
  nextDeadline(creditRetryMs: number): number | null {
    return (
      firstRow<{ at: number | null }>(
        this.sql,
        `SELECT MIN(at) AS at FROM (
           SELECT MIN(expires_at) AS at FROM requests WHERE status = 'pending'
           UNION ALL SELECT MIN(decided_at) + ? FROM requests WHERE status = 'accepted' AND credited_and_published = 0
         )`,
        creditRetryMs,
      )?.at ?? null
    );
  }
}
