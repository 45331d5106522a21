import { rows } from "../sql.ts";

/** Allezon asks for at least the 200 most recent tags of each action; this many are kept. */
export const PROFILE_KEEP_PER_ACTION = 200;

/**
 * Erase marks are kept this long: longer than a tag can wait in a queue (retention is at most 14
 * days from each send, a re-driven dead letter's included), so every tag accepted before an erase
 * has arrived, and been dropped, or died into the dead-letter queue by then. Dead letters do not
 * need the mark afterwards: the erase redacts the cookie's dead letters at once, and a tag that
 * dies later is redacted as it is recorded, while its mark still exists
 * (`workers/admin/dead-letters.ts`), so no dead letter can bring an erased tag back.
 */
export const ERASE_MARK_KEEP_MS = 15 * 86_400_000;

/**
 * One B-tree per cookie and action in the order the profile is read. The tag id is derived from
 * the whole tag, cookie, time and action included, so the key is unique exactly when the tag id is.
 * `erased` holds each erased cookie's erase time, so tags accepted before it that arrive later
 * from the queue are dropped instead of bringing the profile back.
 */
export const PROFILE_SCHEMA = [
  `CREATE TABLE profile_tags (
     cookie TEXT NOT NULL,
     action TEXT NOT NULL,
     time INTEGER NOT NULL,
     tag_id TEXT NOT NULL,
     tag TEXT NOT NULL,
     PRIMARY KEY (cookie, action, time, tag_id)
   ) WITHOUT ROWID`,
  "CREATE TABLE erased (cookie TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID",
] as const;

export type ProfileAction = "VIEW" | "BUY";

/**
 * A tag as the profile keeps it: its stable id, cookie, action, event time, the JSON it is echoed
 * as, and when Tally accepted it (answered 204), which decides whether an erase covers it.
 */
export interface ProfileTag {
  tagId: string;
  cookie: string;
  action: ProfileAction;
  time: number;
  json: string;
  acceptedAt: number;
}

/** Tags of one action newest first, as the JSON texts they were stored as. */
export interface ProfileLists {
  views: string[];
  buys: string[];
}

/**
 * The profile response body, `{"cookie","views","buys"}`, joined from the stored tag texts: each
 * was written by `JSON.stringify` of the tag, so the body is byte for byte what stringifying the
 * parsed tags would give, without parsing up to 400 of them per read.
 */
export function profileBody(cookie: string, lists: ProfileLists): string {
  return `{"cookie":${JSON.stringify(cookie)},"views":[${lists.views.join(",")}],"buys":[${lists.buys.join(",")}]}`;
}

/**
 * The tag histories of many cookies in one SQLite database: per cookie, the most recent tags of
 * each action, newest first by event time (ties by tag id). Tags are keyed by their content-derived
 * id, so a resent or redelivered tag is stored once; one older than the kept window is trimmed again.
 */
export class TagProfiles {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores the tags not seen before (and not covered by an erase); trims each touched list; returns how many were new. */
  add(tags: readonly ProfileTag[]): number {
    let added = 0;
    const touched = new Map<string, ProfileTag>();
    const erasedAt = this.eraseMarks(tags);
    for (const tag of tags) {
      if (tag.acceptedAt <= (erasedAt.get(tag.cookie) ?? -Infinity)) continue;
      const cursor = this.sql.exec(
        "INSERT INTO profile_tags (cookie, action, time, tag_id, tag) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        tag.cookie,
        tag.action,
        tag.time,
        tag.tagId,
        tag.json,
      );
      if (cursor.rowsWritten === 0) continue;
      added++;
      touched.set(`${tag.action}:${tag.cookie}`, tag);
    }
    for (const tag of touched.values()) this.trim(tag.cookie, tag.action);
    return added;
  }

  /** The cookie's tags with `from <= time < to`, newest first, at most `limit` per action. */
  lists(cookie: string, from: number, to: number, limit: number): ProfileLists {
    return { views: this.list(cookie, "VIEW", from, to, limit), buys: this.list(cookie, "BUY", from, to, limit) };
  }

  /**
   * Erases the cookie's profile and marks it erased at `at`: tags accepted up to then that are
   * still on their way are dropped on arrival; later ones start a new profile.
   */
  erase(cookie: string, at: number): void {
    this.sql.exec("DELETE FROM profile_tags WHERE cookie = ?", cookie);
    this.sql.exec(
      "INSERT INTO erased (cookie, erased_at) VALUES (?, ?) ON CONFLICT (cookie) DO UPDATE SET erased_at = MAX(erased_at, excluded.erased_at)",
      cookie,
      at,
    );
    this.sql.exec("DELETE FROM erased WHERE erased_at < ?", at - ERASE_MARK_KEEP_MS);
  }

  private eraseMarks(tags: readonly ProfileTag[]): Map<string, number> {
    return this.erasedAt(tags.map((t) => t.cookie));
  }

  /** When each of these cookies was last erased, for those with a live erase mark. */
  erasedAt(cookies: readonly string[]): Map<string, number> {
    const marks = new Map<string, number>();
    // Nearly every batch meets no erased cookie; one look at the (usually empty) table decides.
    if (rows(this.sql, "SELECT 1 FROM erased LIMIT 1").length === 0) return marks;
    for (const cookie of new Set(cookies)) {
      const row = rows<{ erased_at: number }>(this.sql, "SELECT erased_at FROM erased WHERE cookie = ?", cookie)[0];
      if (row) marks.set(cookie, row.erased_at);
    }
    return marks;
  }

  private list(cookie: string, action: ProfileAction, from: number, to: number, limit: number): string[] {
    return rows<{ tag: string }>(
      this.sql,
      "SELECT tag FROM profile_tags WHERE cookie = ? AND action = ? AND time >= ? AND time < ? ORDER BY time DESC, tag_id DESC LIMIT ?",
      cookie,
      action,
      from,
      to,
      limit,
    ).map((row) => row.tag);
  }

  private trim(cookie: string, action: ProfileAction): void {
    this.sql.exec(
      `DELETE FROM profile_tags WHERE cookie = ? AND action = ? AND (time, tag_id) IN (
         SELECT time, tag_id FROM profile_tags WHERE cookie = ? AND action = ? ORDER BY time DESC, tag_id DESC LIMIT -1 OFFSET ?
       )`,
      cookie,
      action,
      cookie,
      action,
      PROFILE_KEEP_PER_ACTION,
    );
  }
}
