import { DurableObject } from "cloudflare:workers";
import { PROFILE_SCHEMA, TagProfiles, type ProfileLists, type ProfileTag } from "./tag-profiles.ts";
import { shardOf } from "../../shared/shard-hash.ts";
import { migrate, rows } from "../sql.ts";

/**
 * Profiles are spread over this many objects by a hash of the cookie. Fixed for good: a cookie's
 * shard must never change, or its stored tags would be lost to reads. 64 keeps 1M cookies × 400
 * tags at about 2 GB per object (the limit is 10 GB) and 1,000 tags/s at about 16 per object,
 * while a queue batch of 100 tags reaches about 50 objects instead of 100 (docs/capacity.md).
 */
export const PROFILE_SHARDS = 64;

/** The shard of `cookie`: its UTF-8 bytes hashed by `shardOf`, the encoding the stored profiles were spread with. */
export function profileShardOf(cookie: string): number {
  return shardOf(cookie, PROFILE_SHARDS, "utf-8");
}

/**
 * The Allezon profiles of the cookies that hash to this shard. One object per cookie cost a new
 * object and a call for nearly every tag of a 1M-cookie stream; a shard takes a whole batch's
 * tags for its cookies in one call. Its tables are created by the first write, so a read of an
 * unknown cookie on an empty shard stores nothing.
 */
export class ProfileStore extends DurableObject<Env> {
  private profiles: TagProfiles | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      if (rows(ctx.storage.sql, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").length > 0) this.open();
    });
  }

  /** Stores the tags (any of this shard's cookies) once each by tag id; returns how many were new. */
  async addTags(tags: ProfileTag[]): Promise<number> {
    return this.open().add(tags);
  }

  /** The cookie's tags with `from <= time < to`, newest first, at most `limit` per action. */
  async lists(cookie: string, range: { from: number; to: number; limit: number }): Promise<ProfileLists> {
    return this.profiles?.lists(cookie, range.from, range.to, range.limit) ?? { views: [], buys: [] };
  }

  /** Erases the cookie's profile, and every tag of it accepted up to `at` that arrives later. */
  async erase(cookie: string, at: number): Promise<void> {
    this.open().erase(cookie, at);
  }

  /**
   * When each of these cookies was erased, for those whose erase mark is still kept (cookie → epoch
   * ms); a shard that never stored anything answers empty without creating its tables.
   */
  async erasedAt(cookies: string[]): Promise<Record<string, number>> {
    return Object.fromEntries(this.profiles?.erasedAt(cookies) ?? []);
  }

  private open(): TagProfiles {
    if (!this.profiles) {
      migrate(this.ctx.storage.sql, "profile", PROFILE_SCHEMA);
      this.profiles = new TagProfiles(this.ctx.storage.sql);
    }
    return this.profiles;
  }
}
