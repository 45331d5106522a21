import { DurableObject } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { effectiveEndAt, paidPositions, type BoardPurchase, type CampaignTerms, type RankedRecord } from "../../shared/campaigns.ts";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { fail, ok, type Result } from "../../shared/errors.ts";
import { log } from "../../shared/log.ts";
import type { CampaignLifecycleMessage } from "../../shared/messages.ts";
import { toMoneyJson } from "../../shared/money.ts";
import { toIso } from "../../shared/time.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { termsOf } from "../../shared/campaigns.ts";
import { campaignSettled } from "../../shared/webhooks/events.ts";
import { publishEvent } from "../../shared/webhooks/publish.ts";
import { userStub } from "../user/stub.ts";
import { firstRow, migrate, rows } from "../sql.ts";
import { NEW_LIFECYCLE, planLifecycle, retryDelayMs, settleDelayMs, withDefaults, type Lifecycle, type Placing } from "./lifecycle.ts";
import { LiveFeed, liveSocketsPerIp } from "./live-feed.ts";
import { Ranking, type RankEntry } from "./ranking.ts";

const BOARD_SCHEMA = [
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  `CREATE TABLE purchases (
     purchase_id TEXT PRIMARY KEY,
     user_id INTEGER NOT NULL,
     amount_minor INTEGER NOT NULL,
     timestamp INTEGER NOT NULL,
     counted INTEGER NOT NULL,
     received_at INTEGER NOT NULL
   )`,
  "CREATE TABLE totals (user_id INTEGER PRIMARY KEY, total_minor INTEGER NOT NULL, reached_at INTEGER NOT NULL)",
  "CREATE INDEX totals_ranked ON totals (total_minor DESC, reached_at ASC, user_id ASC)",
  // Display names of the ranked users, so a top read needs no lookup elsewhere.
  "CREATE TABLE names (user_id INTEGER PRIMARY KEY, display_name TEXT NOT NULL)",
] as const;

type Positions = Omit<RankedRecord, "campaignId">[];

/** Response bodies kept per ranking version; more distinct `n` than this and the map starts over. */
const MAX_TOP_BODIES = 32;

export interface ApplyOutcome {
  applied: number;
  duplicates: number;
  /** Recorded after settlement: kept, never counted. */
  afterSettlement: number;
}

/**
 * One per scoring campaign: the single writer of its per-user totals. The ranking lives in
 * memory for O(log n) reads and is rebuilt from SQLite (already in ranking order through an
 * index) whenever the object starts. Alarms walk the lifecycle: publish Start, publish End,
 * then settle exactly once.
 */
export class CampaignBoard extends DurableObject<Env> {
  private ranking = new Ranking();
  private terms: CampaignTerms | undefined;
  private lifecycle: Lifecycle = { ...NEW_LIFECYCLE };
  private version = 0;
  /** Display names of ranked users that have one; the rest show `null`. */
  private names = new Map<number, string>();
  /**
   * The one cache of the top: for the current ranking version, the positions of the largest `n`
   * asked and the response body per `n`; any ranking change starts it over.
   */
  private topCache: { version: number; n: number; positions: Positions; bodies: Map<number, string> } = {
    version: -1,
    n: 0,
    positions: [],
    bodies: new Map(),
  };
  private readonly live: LiveFeed;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.live = new LiveFeed(ctx, {
      campaignId: () => this.terms!.campaignId,
      topPositions: (n) => this.topPositions(n),
      record: (userId) => this.recordOf(userId),
    });
    ctx.blockConcurrencyWhile(async () => {
      // A board nobody has configured keeps no storage at all: reading an unknown campaign's
      // leaderboard must not leave an object behind. Its tables are created on the first write.
      if (!this.hasStorage()) return;
      migrate(ctx.storage.sql, "board", BOARD_SCHEMA);
      this.terms = this.readMeta<CampaignTerms>("terms");
      this.lifecycle = withDefaults(this.readMeta<Partial<Lifecycle>>("lifecycle"));
      for (const row of ctx.storage.sql.exec<{ user_id: number; display_name: string }>("SELECT user_id, display_name FROM names")) {
        this.names.set(row.user_id, row.display_name);
      }
      this.rebuildRanking();
    });
  }

  /** Sets the campaign this board scores and schedules its lifecycle. Safe to call again with the same terms. */
  async configure(terms: CampaignTerms): Promise<Result<void>> {
    if (this.terms) {
      return sameTerms(this.terms, terms) ? ok(undefined) : fail("conflict", `board of campaign ${terms.campaignId} already has other terms`);
    }
    migrate(this.ctx.storage.sql, "board", BOARD_SCHEMA);
    this.terms = terms;
    this.writeMeta("terms", terms);
    await this.scheduleNextPhase();
    return ok(undefined);
  }

  /**
   * An admin's edit of the terms (`PATCH /campaigns/{id}`), before the end: the board takes the new
   * terms and re-arms its lifecycle alarm for the new start or end. Refused once End is published.
   */
  async updateTerms(terms: CampaignTerms): Promise<Result<void>> {
    if (!this.terms) return fail("not_found", "campaign board is not configured");
    if (this.lifecycle.endPublished || this.lifecycle.decidedAt !== null) {
      return fail("conflict", `campaign ${terms.campaignId} has ended; its terms no longer change`);
    }
    this.terms = terms;
    this.writeMeta("terms", terms);
    await this.scheduleNextPhase();
    return ok(undefined);
  }

  /** Ends the campaign now (an admin's early end); settlement follows after the usual delay. */
  async endNow(at: number): Promise<Result<void>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "campaign board is not configured");
    if (this.lifecycle.endedAt === null && at < terms.endAt) {
      this.lifecycle.endedAt = at;
      this.writeMeta("lifecycle", this.lifecycle);
    }
    await this.scheduleNextPhase();
    return ok(undefined);
  }

  /**
   * Applies a batch of qualified purchases, each once by purchase id, in one transaction. After
   * settlement purchases are recorded but the ranking — and so the winner — no longer moves.
   */
  async apply(purchases: BoardPurchase[]): Promise<Result<ApplyOutcome>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "campaign board is not configured");
    const wrongCurrency = purchases.find((p) => p.amount.currency !== terms.prize.currency);
    if (wrongCurrency) return fail("unprocessable", `purchase ${wrongCurrency.purchaseId} is not in ${terms.prize.currency}`);
    await this.meetNewUsers(purchases);
    const outcome: ApplyOutcome = { applied: 0, duplicates: 0, afterSettlement: 0 };
    // Once the winner is decided the ranking stops, so a retried settlement pays the same user.
    const settled = this.lifecycle.decidedAt !== null || this.lifecycle.settledAt !== null;
    try {
      this.ctx.storage.transactionSync(() => this.record(purchases, settled, outcome));
    } catch (error) {
      // SQLite rolled the batch back; bring the in-memory ranking back in line with it.
      this.rebuildRanking();
      throw error;
    }
    if (outcome.applied > 0) {
      this.version++;
      this.live.changed();
    }
    const requestIds = [...new Set(purchases.flatMap((p) => (p.httpRequestId === undefined ? [] : [p.httpRequestId])))];
    log("info", "purchases applied", {
      system: "campaigns",
      campaignId: terms.campaignId,
      requestId: requestIds.length === 1 ? requestIds[0] : null,
      ...(requestIds.length > 1 ? { requestIds } : {}),
      ...outcome,
    });
    return ok(outcome);
  }

  private record(purchases: BoardPurchase[], settled: boolean, outcome: ApplyOutcome): void {
    const now = Date.now();
    for (const purchase of purchases) {
      const inserted = rows<{ purchase_id: string }>(
        this.ctx.storage.sql,
        `INSERT INTO purchases (purchase_id, user_id, amount_minor, timestamp, counted, received_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (purchase_id) DO NOTHING RETURNING purchase_id`,
        purchase.purchaseId,
        Number(purchase.userId),
        purchase.amount.minor,
        purchase.timestamp,
        settled ? 0 : 1,
        now,
      );
      if (inserted.length === 0) {
        outcome.duplicates++;
      } else if (settled) {
        outcome.afterSettlement++;
      } else {
        this.addToTotal(Number(purchase.userId), purchase.amount.minor, purchase.timestamp);
        outcome.applied++;
      }
    }
  }

  /**
   * Before the first purchase of a user counts here: records in D1 that this board ranks the user
   * (so a later rename reaches it) and reads the name the user already has. The participant row is
   * written before the name is read and a rename writes the name before it lists the boards, so a
   * rename racing a first purchase is seen by one side or the other. Runs before the purchases are
   * applied: when D1 fails the batch is retried whole, and nobody is left unregistered.
   */
  private async meetNewUsers(purchases: BoardPurchase[]): Promise<void> {
    const newUsers = [...new Set(purchases.map((p) => Number(p.userId)))].filter((userId) => !this.ranking.get(userId));
    if (newUsers.length === 0) return;
    const db = database(this.env.DB);
    const campaignId = Number(this.terms!.campaignId);
    const known = new Map<number, string>();
    for (const part of d1Chunks(newUsers, 2)) {
      const [, profiles] = await db.batch([
        db
          .insert(schema.campaignParticipants)
          .values(part.map((userId) => ({ userId, campaignId })))
          .onConflictDoNothing(),
        db
          .select({ userId: schema.displayNames.userId, displayName: schema.displayNames.displayName })
          .from(schema.displayNames)
          .where(inArray(schema.displayNames.userId, part)),
      ]);
      for (const profile of profiles) known.set(profile.userId, profile.displayName);
    }
    this.storeNames(known);
  }

  /**
   * Display names changed (a rename or an import): the board keeps those of users it ranks and
   * shows them in the next top read and live flush.
   */
  async rename(names: { userId: string; displayName: string }[]): Promise<Result<void>> {
    const changed = new Map<number, string>();
    for (const { userId, displayName } of names) {
      const id = Number(userId);
      if (this.names.get(id) !== displayName) changed.set(id, displayName);
    }
    if (changed.size === 0) return ok(undefined);
    this.storeNames(changed);
    this.version++;
    this.live.changed();
    return ok(undefined);
  }

  private storeNames(names: Map<number, string>): void {
    for (const [userId, displayName] of names) {
      this.ctx.storage.sql.exec(
        "INSERT INTO names (user_id, display_name) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name",
        userId,
        displayName,
      );
      this.names.set(userId, displayName);
    }
  }

  private displayName(userId: number): string | null {
    return this.names.get(userId) ?? null;
  }

  /**
   * The seed's top-n response body, serialized once per ranking version: the hot read path then
   * costs one string across RPC and no JSON work in the Worker.
   */
  async topBody(n: number): Promise<Result<string>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "no such campaign");
    const { bodies } = this.currentTop();
    const cached = bodies.get(n);
    if (cached !== undefined) return ok(cached);
    if (bodies.size >= MAX_TOP_BODIES) bodies.clear();
    const body = JSON.stringify({ headers: [], records: { campaignId: terms.campaignId, positions: this.topPositions(n) } });
    bodies.set(n, body);
    return ok(body);
  }

  /** One user's record, or not_found when the user has no qualified purchase. */
  async position(userId: string): Promise<Result<RankedRecord>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "no such campaign");
    const record = this.recordOf(Number(userId));
    return record ? ok(record) : fail("not_found", `user ${userId} has no record in campaign ${terms.campaignId}`);
  }

  /**
   * Up to `span` positions above and below the user's, the user's included, in ranking order;
   * not_found when the user has no record. O(log n + span).
   */
  async around(userId: string, span: number): Promise<Result<{ campaignId: string; positions: Positions }>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "no such campaign");
    const position = this.ranking.position(Number(userId));
    if (position < 0) return fail("not_found", `user ${userId} has no record in campaign ${terms.campaignId}`);
    const start = Math.max(0, position - span);
    const entries = this.ranking.slice(start, position - start + span + 1);
    return ok({ campaignId: terms.campaignId, positions: entries.map((entry, i) => this.rowOf(entry, start + i)) });
  }

  /** The lifecycle as the board sees it, for the catalogue and for tests. */
  async state(): Promise<Result<{ terms: CampaignTerms; lifecycle: Lifecycle; users: number }>> {
    const terms = await this.ensureTerms();
    if (!terms) return fail("not_found", "campaign board is not configured");
    return ok({ terms, lifecycle: { ...this.lifecycle }, users: this.ranking.size });
  }

  override async alarm(): Promise<void> {
    const terms = this.terms;
    if (!terms) return;
    const now = Date.now();
    try {
      for (const step of planLifecycle(terms, this.lifecycle, now, this.settleDelay()).due) {
        if (step === "start") {
          await this.publish("Start", terms.startAt);
          this.lifecycle.startPublished = true;
        } else if (step === "end") {
          await this.publish("End", this.effectiveEnd());
          this.lifecycle.endPublished = true;
        } else {
          await this.settle(now);
        }
        this.writeMeta("lifecycle", this.lifecycle);
      }
    } catch (error) {
      // The runtime retries a throwing alarm only a few times and then drops it; a settlement must
      // never be abandoned, so the board re-arms its own alarm with backoff until the step completes.
      this.lifecycle.failedAttempts++;
      this.writeMeta("lifecycle", this.lifecycle);
      const retryAt = now + retryDelayMs(this.lifecycle.failedAttempts);
      log("error", "campaign lifecycle step failed; the alarm retries", { system: "campaigns", campaignId: terms.campaignId, attempt: this.lifecycle.failedAttempts, retryAt: toIso(retryAt), error });
      await this.ctx.storage.setAlarm(retryAt);
      return;
    }
    if (this.lifecycle.failedAttempts > 0) {
      this.lifecycle.failedAttempts = 0;
      this.writeMeta("lifecycle", this.lifecycle);
    }
    await this.scheduleNextPhase();
  }

  /** Live leaderboard: the Worker forwards the upgrade with the caller's user id, if any. */
  override async fetch(request: Request): Promise<Response> {
    if (!(await this.ensureTerms())) return new Response("no such campaign", { status: 404 });
    return this.live.accept(request, liveSocketsPerIp(this.env.LIVE_SOCKETS_PER_IP));
  }

  override async webSocketMessage(): Promise<void> {
    // The socket is for listening; pings are answered by the runtime (see LiveFeed).
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.live.closed(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.live.failed(ws);
  }

  /**
   * The board's terms; a board whose `configure` never arrived (the create call failed after the
   * catalogue row was written) takes them from D1 on first contact, so purchases still count and
   * the campaign still settles. An id D1 does not know stays unconfigured and stores nothing.
   */
  private async ensureTerms(): Promise<CampaignTerms | undefined> {
    if (this.terms) return this.terms;
    const campaignId = this.campaignIdFromName();
    if (campaignId === undefined) return undefined;
    const [row] = await database(this.env.DB)
      .select()
      .from(schema.campaigns)
      .where(eq(schema.campaigns.campaignId, Number(campaignId)));
    if (!row) return undefined;
    await this.configure(termsOf(row));
    if (row.endedAt !== null) await this.endNow(row.endedAt);
    return this.terms;
  }

  /** The campaign id in this object's name (`campaign:<id>`, see `boardStub`). */
  private campaignIdFromName(): string | undefined {
    return this.ctx.id.name?.match(/^campaign:(\d+)$/)?.[1];
  }

  private hasStorage(): boolean {
    return firstRow(this.ctx.storage.sql, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'") !== undefined;
  }

  private addToTotal(userId: number, amountMinor: number, timestamp: number): void {
    const current = this.ranking.get(userId);
    // Saturates rather than lose exactness: past 2^53 a float sum would silently round.
    const total = Math.min((current?.total ?? 0) + amountMinor, Number.MAX_SAFE_INTEGER);
    // The total is reached once every purchase behind it has happened: at the latest event time,
    // whatever order the purchases arrived in.
    const reachedAt = Math.max(current?.reachedAt ?? timestamp, timestamp);
    this.ctx.storage.sql.exec(
      `INSERT INTO totals (user_id, total_minor, reached_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET total_minor = excluded.total_minor, reached_at = excluded.reached_at`,
      userId,
      total,
      reachedAt,
    );
    this.ranking.upsert(userId, total, reachedAt);
  }

  private rebuildRanking(): void {
    const cursor = this.ctx.storage.sql.exec<{ user_id: number; total_minor: number; reached_at: number }>(
      "SELECT user_id, total_minor, reached_at FROM totals ORDER BY total_minor DESC, reached_at ASC, user_id ASC",
    );
    const entries = (function* () {
      for (const row of cursor) yield { userId: row.user_id, total: row.total_minor, reachedAt: row.reached_at };
    })();
    this.ranking = Ranking.fromSorted(entries);
    this.version++;
  }

  private currentTop(): typeof this.topCache {
    if (this.topCache.version !== this.version) this.topCache = { version: this.version, n: 0, positions: [], bodies: new Map() };
    return this.topCache;
  }

  private topPositions(n: number): Positions {
    const top = this.currentTop();
    if (top.n < n) {
      top.positions = this.ranking.top(n).map((entry, position) => this.rowOf(entry, position));
      top.n = n;
    }
    return top.n === n ? top.positions : top.positions.slice(0, n);
  }

  private rowOf(entry: RankEntry, position: number): Positions[number] {
    return {
      userId: String(entry.userId),
      displayName: this.displayName(entry.userId),
      position,
      total: toMoneyJson({ minor: entry.total, currency: this.terms!.prize.currency }),
    };
  }

  private recordOf(userId: number): RankedRecord | undefined {
    const entry = this.ranking.get(userId);
    if (!entry) return undefined;
    return {
      campaignId: this.terms!.campaignId,
      userId: String(userId),
      displayName: this.displayName(userId),
      position: this.ranking.position(userId),
      total: toMoneyJson({ minor: entry.total, currency: this.terms!.prize.currency }),
    };
  }

  private effectiveEnd(): number {
    return effectiveEndAt({ endAt: this.terms!.endAt, endedAt: this.lifecycle.endedAt });
  }

  private settleDelay(): number {
    return settleDelayMs(this.env.SETTLE_DELAY_SECONDS);
  }

  /**
   * Decides the winner and every tier's users once, storing them (and stopping the ranking) before
   * any outside write. Each write after that is idempotent (the winner row by campaign, placings by
   * campaign and position, each credit by its ref — `campaign-prize:<id>` for position 0,
   * `campaign-prize:<id>:<position>` below — D1's settledAt), so a retry after a partial failure
   * completes the same settlement with the same users, whatever purchases arrived in between.
   */
  private async settle(now: number): Promise<void> {
    const terms = this.terms!;
    if (this.lifecycle.decidedAt === null) {
      const paid = paidPositions(terms);
      const ranked = this.ranking.top(paid[paid.length - 1]!.position + 1);
      const placings: Placing[] = paid.flatMap(({ position, prize }) => {
        const entry = ranked[position];
        return entry ? [{ position, userId: String(entry.userId), totalMinor: entry.total, prizeMinor: prize.minor }] : [];
      });
      const leader = placings.find((placing) => placing.position === 0);
      this.lifecycle.decidedAt = now;
      this.lifecycle.winnerUserId = leader?.userId ?? null;
      this.lifecycle.winnerTotalMinor = leader?.totalMinor ?? null;
      this.lifecycle.placings = placings;
      this.writeMeta("lifecycle", this.lifecycle);
    }
    const { decidedAt, winnerUserId, winnerTotalMinor } = this.lifecycle;
    const currency = terms.prize.currency;
    const placings: Placing[] =
      this.lifecycle.placings ??
      (winnerUserId !== null && winnerTotalMinor !== null ? [{ position: 0, userId: winnerUserId, totalMinor: winnerTotalMinor, prizeMinor: terms.prize.minor }] : []);
    const db = database(this.env.DB);
    const campaignId = Number(terms.campaignId);
    const winner = placings.find((placing) => placing.position === 0);
    await runInOneBatch(db, [
      ...(winner
        ? [
            db
              .insert(schema.campaignWinners)
              .values({ campaignId, userId: Number(winner.userId), totalMinor: winner.totalMinor, prizeMinor: winner.prizeMinor, currency, decidedAt })
              .onConflictDoNothing(),
          ]
        : []),
      ...d1Chunks(placings, 7).map((part) =>
        db
          .insert(schema.campaignPlacings)
          .values(part.map((p) => ({ campaignId, position: p.position, userId: Number(p.userId), totalMinor: p.totalMinor, prizeMinor: p.prizeMinor, currency, decidedAt })))
          .onConflictDoNothing(),
      ),
    ]);
    const credits = await Promise.all(
      placings.map((placing) =>
        userStub(this.env, placing.userId).credit({
          ref: placing.position === 0 ? `campaign-prize:${terms.campaignId}` : `campaign-prize:${terms.campaignId}:${placing.position}`,
          reason: placing.position === 0 ? `prize of campaign ${terms.campaignId}` : `prize for position ${placing.position} of campaign ${terms.campaignId}`,
          money: { minor: placing.prizeMinor, currency },
        }),
      ),
    );
    const failed = credits.find((credited) => !credited.ok);
    if (failed && !failed.ok) throw new Error(`prize credit failed: ${failed.detail}`);
    await publishEvent(this.env, [campaignSettled(terms.campaignId, decidedAt ?? now, currency, placings)]);
    await db.update(schema.campaigns).set({ settledAt: decidedAt }).where(eq(schema.campaigns.campaignId, campaignId));
    this.lifecycle.settledAt = decidedAt;
    this.writeMeta("lifecycle", this.lifecycle);
  }

  private async publish(status: "Start" | "End", at: number): Promise<void> {
    const message: CampaignLifecycleMessage = { kind: "campaign-lifecycle", campaignId: this.terms!.campaignId, status, at };
    await this.env.CAMPAIGN_LIFECYCLE.send(message);
  }

  private async scheduleNextPhase(): Promise<void> {
    const terms = this.terms;
    if (!terms) return;
    const now = Date.now();
    const plan = planLifecycle(terms, this.lifecycle, now, this.settleDelay());
    const next = plan.due.length > 0 ? now : plan.wakeAt;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(next, now));
  }

  private readMeta<T>(key: string): T | undefined {
    const row = firstRow<{ value: string }>(this.ctx.storage.sql, "SELECT value FROM meta WHERE key = ?", key);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private writeMeta(key: string, value: unknown): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      JSON.stringify(value),
    );
  }
}
