import { rows } from "../sql.ts";

/** Allezon asks for at least the 200 most recent tags of each action; this many are kept. */
export const PROFILE_KEEP_PER_ACTION = 200;

/**
 * One B-tree in the order the profile is read. The tag id is derived from the whole tag, time and
 * action included, so `(action, time, tag_id)` is unique exactly when the tag id is.
 */
export const PROFILE_SCHEMA = [
  `CREATE TABLE profile_tags (
     action TEXT NOT NULL,
     time INTEGER NOT NULL,
     tag_id TEXT NOT NULL,
     tag TEXT NOT NULL,
     PRIMARY KEY (action, time, tag_id)
   ) WITHOUT ROWID`,
] as const;

export type ProfileAction = "VIEW" | "BUY";

/** A tag as the profile keeps it: its stable id, action, event time and the JSON it is echoed as. */
export interface ProfileTag {
  tagId: string;
  action: ProfileAction;
  time: number;
  json: string;
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
 * The tag history of one cookie: the most recent tags of each action, newest first by event
 * time (ties by tag id). Tags are keyed by their content-derived id, so a resent or redelivered
 * tag is stored once; a redelivered tag that is older than the kept window is trimmed again.
 */
export class TagProfile {
  private readonly counts = new Map<ProfileAction, number>();

  constructor(private readonly sql: SqlStorage) {
    for (const row of rows<{ action: ProfileAction; n: number }>(sql, "SELECT action, COUNT(*) AS n FROM profile_tags GROUP BY action")) {
      this.counts.set(row.action, row.n);
    }
  }

  /** Stores the tags not seen before and trims each action to the kept window; returns how many were new. */
  add(tags: readonly ProfileTag[]): number {
    let added = 0;
    const touched = new Set<ProfileAction>();
    for (const tag of tags) {
      const cursor = this.sql.exec(
        "INSERT INTO profile_tags (action, time, tag_id, tag) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        tag.action,
        tag.time,
        tag.tagId,
        tag.json,
      );
      if (cursor.rowsWritten > 0) {
        added++;
        touched.add(tag.action);
        this.counts.set(tag.action, (this.counts.get(tag.action) ?? 0) + 1);
      }
    }
    for (const action of touched) this.trim(action);
    return added;
  }

  /** Tags with `from <= time < to`, newest first, at most `limit` per action. */
  lists(from: number, to: number, limit: number): ProfileLists {
    return { views: this.list("VIEW", from, to, limit), buys: this.list("BUY", from, to, limit) };
  }

  private list(action: ProfileAction, from: number, to: number, limit: number): string[] {
    return rows<{ tag: string }>(
      this.sql,
      "SELECT tag FROM profile_tags WHERE action = ? AND time >= ? AND time < ? ORDER BY time DESC, tag_id DESC LIMIT ?",
      action,
      from,
      to,
      limit,
    ).map((row) => row.tag);
  }

  private trim(action: ProfileAction): void {
    if ((this.counts.get(action) ?? 0) <= PROFILE_KEEP_PER_ACTION) return;
    this.sql.exec(
      `DELETE FROM profile_tags WHERE action = ? AND (time, tag_id) IN (
         SELECT time, tag_id FROM profile_tags WHERE action = ? ORDER BY time DESC, tag_id DESC LIMIT -1 OFFSET ?
       )`,
      action,
      action,
      PROFILE_KEEP_PER_ACTION,
    );
    this.counts.set(action, PROFILE_KEEP_PER_ACTION);
  }
}
