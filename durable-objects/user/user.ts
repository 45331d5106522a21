import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../../shared/errors.ts";
import type { Money } from "../../shared/money.ts";
import { migrate } from "../sql.ts";
import { PROFILE_SCHEMA, TagProfile, type ProfileLists, type ProfileTag } from "./profile.ts";
import type { Activity, AwardCandidate, StoredAward, StreakView } from "./streak-rules.ts";
import { STREAK_SCHEMA, StreakStore } from "./streaks.ts";
import { WALLET_SCHEMA, WalletLedger, type WalletEntry, type WalletView } from "./wallet.ts";

/**
 * One per user id (`user:42`) or Allezon cookie (`cookie:abc`), the single writer of that
 * entity's state: the wallet ledger, the tag profile and the incentive streaks. Each part keeps
 * its own tables and migrates on its own.
 */
export class User extends DurableObject<Env> {
  private wallet!: WalletLedger;
  private profile!: TagProfile;
  private streakStore!: StreakStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      // A cookie's object only ever holds a tag profile and a user's never does; skipping the
      // other parts keeps the million cookie objects of the Allezon stream cheap to create.
      const kind = ctx.id.name?.split(":")[0];
      if (kind !== "user") {
        migrate(ctx.storage.sql, "profile", PROFILE_SCHEMA);
        this.profile = new TagProfile(ctx.storage.sql);
      }
      if (kind !== "cookie") {
        migrate(ctx.storage.sql, "wallet", WALLET_SCHEMA);
        this.wallet = new WalletLedger(ctx.storage.sql);
        migrate(ctx.storage.sql, "streaks", STREAK_SCHEMA);
        this.streakStore = new StreakStore(ctx.storage);
      }
    });
  }

  /** Credits points and/or money once per `ref` (the prize's, the connection's…). */
  async credit(input: { ref: string; reason: string; points?: number; money?: Money }): Promise<Result<{ entry: WalletEntry; replayed: boolean }>> {
    const points = input.points ?? 0;
    if (!Number.isSafeInteger(points) || points < 0) return fail("validation_failed", "points must be a non-negative integer");
    return ok(this.wallet.credit(input.ref, input.reason, points, input.money));
  }

  /** Debits points once per `ref`; 409 `insufficient_points` when the balance is short. */
  async debitPoints(input: { ref: string; reason: string; points: number }): Promise<Result<{ entry: WalletEntry; replayed: boolean; balance: number }>> {
    if (!Number.isSafeInteger(input.points) || input.points <= 0) return fail("validation_failed", "points must be a positive integer");
    const outcome = this.wallet.debitPoints(input.ref, input.reason, input.points);
    if (outcome === "insufficient") {
      return fail("insufficient_points", `needs ${input.points} points, has ${this.wallet.balance()}`);
    }
    return ok({ ...outcome, balance: this.wallet.balance() });
  }

  async walletView(limit = 100): Promise<WalletView> {
    return this.wallet.view(limit);
  }

  /**
   * Records incentive activity (one local day per event) and returns every award not yet
   * confirmed, new ones included; each employer incentive is awarded at most once.
   */
  async recordActivity(activities: Activity[]): Promise<{ awards: StoredAward[]; newPairs: { employerId: string; event: string }[] }> {
    return this.streakStore.record(activities);
  }

  /** Marks awards as stored in D1 and published, so `recordActivity` stops handing them out. */
  async confirmAwards(employerIncentiveIds: string[]): Promise<void> {
    this.streakStore.confirm(employerIncentiveIds);
  }

  /** Evaluates an employer's incentives for an event on the stored days alone; returns every unconfirmed award. */
  async evaluateHistory(employerId: string, event: string, candidates: AwardCandidate[]): Promise<StoredAward[]> {
    return this.streakStore.evaluate(employerId, event, candidates);
  }

  /** Marks (employer, event) pairs as written to D1's history index. */
  async confirmHistoryIndexed(pairs: { employerId: string; event: string }[]): Promise<void> {
    this.streakStore.confirmPairs(pairs);
  }

  /** Current and longest streak per (employer, event). */
  async streaks(): Promise<StreakView[]> {
    return this.streakStore.streaks();
  }

  /** Stores Allezon tags of this cookie once each (keyed by tag id); returns how many were new. */
  async addProfileTags(tags: ProfileTag[]): Promise<number> {
    return this.profile.add(tags);
  }

  /** The cookie's tags with `from <= time < to`, newest first, at most `limit` per action. */
  async profileLists(range: { from: number; to: number; limit: number }): Promise<ProfileLists> {
    return this.profile.lists(range.from, range.to, range.limit);
  }
}

/** The object of a user id. */
export function userStub(env: Env, userId: string): DurableObjectStub<User> {
  return env.USER.getByName(`user:${userId}`);
}

/** The object of an Allezon cookie: a name of its own kind, so it never meets a user id. */
export function cookieStub(env: Env, cookie: string): DurableObjectStub<User> {
  return env.USER.getByName(`cookie:${cookie}`);
}
