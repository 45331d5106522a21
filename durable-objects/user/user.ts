import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../../shared/errors.ts";
import type { Money } from "../../shared/money.ts";
import { hasStorage, migrate } from "../sql.ts";
import { zipAreaStub } from "../zip-area/stub.ts";
import { AD_IMPRESSIONS_SCHEMA, AdImpressionCounts, type AdImpression } from "./ad-impressions.ts";
import type { Activity, AwardCandidate, RuleProgress, StoredAward, StreakView } from "./streak-rules.ts";
import { STREAK_SCHEMA, StreakStore } from "./streaks.ts";
import { TROPHY_SCHEMA, TrophyShelf, type CountedConnection, type CountedDonation, type Trophy, type TrophyCase } from "./trophies.ts";
import { WALLET_SCHEMA, WalletLedger, type WalletEntry, type WalletView } from "./wallet.ts";
import { log } from "../../shared/log.ts";

/**
 * One per user id (`user:42`), the single writer of that user's state: the wallet ledger, the
 * incentive streaks and the trophies. Each part keeps its own tables and migrates on its own. (Allezon cookies'
 * profiles live in `ProfileStore` shards.)
 */
export class User extends DurableObject<Env> {
  private parts: UserParts | null = null;
  private adImpressions: AdImpressionCounts | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Tables are made on the first write, not here: a public profile read of an id nobody used
    // (anyone can ask for any id) must not leave a database behind. An object written before
    // migrates at once, as it always did.
    ctx.blockConcurrencyWhile(async () => {
      if (hasStorage(ctx.storage.sql)) this.parts = this.openParts();
    });
  }

  /** Whether anything was ever written here; reads of a never-written user answer empty instead. */
  private get written(): boolean {
    return this.parts !== null;
  }

  private openParts(): UserParts {
    const sql = this.ctx.storage.sql;
    migrate(sql, "wallet", WALLET_SCHEMA);
    const wallet = new WalletLedger(sql);
    migrate(sql, "streaks", STREAK_SCHEMA);
    const streakStore = new StreakStore(this.ctx.storage);
    migrate(sql, "trophies", TROPHY_SCHEMA);
    return { wallet, streakStore, trophyShelf: new TrophyShelf(sql) };
  }

  /** The parts, their tables created on first use (synchronous, so no other call interleaves). */
  private get tables(): UserParts {
    return (this.parts ??= this.openParts());
  }

  private get wallet(): WalletLedger {
    return this.tables.wallet;
  }

  private get streakStore(): StreakStore {
    return this.tables.streakStore;
  }

  private get trophyShelf(): TrophyShelf {
    return this.tables.trophyShelf;
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

  /**
   * On the citizen's object: whether connection `ref` with officer `partnerId` earns points, at most
   * `cap` a UTC day per pair (`POINTS_PAIR_DAILY_CAP`); the same answer for the same `ref` every time.
   */
  async claimPairConnection(input: { ref: string; partnerId: string; day: number; cap: number }): Promise<boolean> {
    return this.wallet.claimPairConnection(input.ref, input.partnerId, input.day, input.cap);
  }

  async walletView(limit = 100): Promise<WalletView> {
    if (!this.written) return { points: 0, money: [], entries: [] };
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

  /** Where the user stands on each of an employer's incentives, and whether each is awarded. */
  async incentiveProgress(
    employerId: string,
    candidates: (AwardCandidate & { event: string })[],
  ): Promise<Array<RuleProgress & { employerIncentiveId: string; awarded: boolean }>> {
    return this.streakStore.progress(employerId, candidates);
  }

  /** Marks (employer, event) pairs as written to D1's history index. */
  async confirmHistoryIndexed(pairs: { employerId: string; event: string }[]): Promise<void> {
    this.streakStore.confirmPairs(pairs);
  }

  /** Current and longest streak per (employer, event). */
  async streaks(): Promise<StreakView[]> {
    if (!this.written) return [];
    return this.streakStore.streaks();
  }

  /** Counts an ad impression of this user once per event id (frequency caps). */
  async recordAdImpression(impression: AdImpression): Promise<boolean> {
    return this.adImpressionCounts().record(impression);
  }

  /** This user's impressions per ad campaign on a UTC day (days since the epoch). */
  async adImpressionsOn(day: number): Promise<Record<string, number>> {
    // Serving reads and changes nothing: a user who never saw an ad gets no ad tables from it.
    const exists = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'ad_impressions'").toArray().length > 0;
    return exists ? this.adImpressionCounts().countsOn(day) : {};
  }

  /**
   * Counts established connections once each (by request id) and awards the trophies they earn,
   * pushing new ones to the user's open sockets. Returns the new trophies.
   */
  async countConnections(userId: string, connections: CountedConnection[]): Promise<Trophy[]> {
    const earned = this.trophyShelf.countConnections(connections);
    await this.pushTrophies(userId, earned);
    return earned;
  }

  /** Counts a donation once (by donation id), awarding and pushing the trophies it earns. */
  async countDonation(userId: string, donation: CountedDonation): Promise<Trophy[]> {
    const earned = this.trophyShelf.countDonation(donation);
    await this.pushTrophies(userId, earned);
    return earned;
  }

  /** Connections and trophies, as a public profile shows them. */
  async trophyCase(): Promise<TrophyCase> {
    if (!this.written) return { connections: 0, trophies: [] };
    return this.trophyShelf.view();
  }

  /** A zip area tells the user a socket of theirs opened there, so new trophies are pushed to it. */
  async socketOpened(zip: string): Promise<void> {
    this.trophyShelf.socketOpened(zip, Date.now());
  }

  /**
   * Best effort: the trophy is stored before this runs and shows in the profile whatever happens
   * here, so a zip area that cannot be reached only misses the live notice.
   */
  private async pushTrophies(userId: string, trophies: Trophy[]): Promise<void> {
    if (trophies.length === 0) return;
    await Promise.all(
      this.trophyShelf.socketZips().map(async (zip) => {
        try {
          await zipAreaStub(this.env, zip).pushTrophies(userId, trophies);
        } catch (error) {
          log("warn", "pushing trophies to the zip area failed", { system: "connections", userId, zip, error });
        }
      }),
    );
  }

  /** Created on first use, so users who never see an ad carry no ad tables. */
  private adImpressionCounts(): AdImpressionCounts {
    if (!this.adImpressions) {
      migrate(this.ctx.storage.sql, "ad-impressions", AD_IMPRESSIONS_SCHEMA);
      this.adImpressions = new AdImpressionCounts(this.ctx.storage.sql);
    }
    return this.adImpressions;
  }

}

interface UserParts {
  wallet: WalletLedger;
  streakStore: StreakStore;
  trophyShelf: TrophyShelf;
}

