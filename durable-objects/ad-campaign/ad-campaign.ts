import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { fail, ok, type Result } from "../../shared/errors.ts";
import { toMoneyJson, type Money } from "../../shared/money.ts";
import { DAY_MS, MINUTE_MS, utcDate, utcDayNumber } from "../../shared/time.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { firstRow, migrate, rows } from "../sql.ts";
import { AD_CAMPAIGN_SCHEMA, definitionFromD1, readLiveState, type EventRow, type LiveState, type MinuteRow } from "./rows.ts";
import { ImpressionOutbox } from "./impression-outbox.ts";
import { StatusOutbox } from "./status-outbox.ts";
import {
  afterCharge,
  clickCharge,
  freshSpending,
  initialStatus,
  isWithinDuplicateWindow,
  nextScheduledMoment,
  noChargeReason,
  statusAt,
  visitorKey,
  DUPLICATE_CLICK_WINDOW_MS,
  type AdCampaignDefinition,
  type AdEventType,
  type NoChargeReason,
  type Pacing,
} from "./budget.ts";
import { GRANULARITY_MS, rollUp, sumCounters, type Counters, type Granularity } from "./performance.ts";
import {
  adCampaignJson,
  adCampaignView,
  performanceReport,
  type AdCampaignJson,
  type AdCampaignView,
  type AdEventAnswer,
  type PerformanceReport,
} from "./views.ts";
import { log } from "../../shared/log.ts";

/** How long an event id is remembered; older events are forgotten at a midnight alarm. */
const AD_EVENT_RETENTION_MS = 30 * DAY_MS;

/** When writing a status to D1 or the queue, or handing an impression over, failed, the alarm tries again this much later. */
const SYNC_RETRY_MS = 5_000;

/** An event as the Worker validated it; `eventId` is the client's or one the Worker assigned. */
export interface AdEventInput {
  eventId: string;
  type: AdEventType;
  userId: string | null;
  ip: string | null;
  timestamp: number;
}

/** A `PATCH`: each present field replaces the term; null removes an optional one. */
export interface AdCampaignPatch {
  name?: string;
  cpc?: Money;
  dailyBudget?: Money | null;
  totalBudget?: Money;
  endAt?: number | null;
  frequencyCap?: number | null;
  pacing?: Pacing;
}

/** One closed UTC day of a campaign, summed from the events that arrived that day. */
export interface BillingDay {
  date: string;
  adCampaignId: string;
  advertiserId: string;
  currency: string;
  impressions: number;
  clicks: number;
  chargedClicks: number;
  spendMinor: number;
}

export interface PerformanceQuery {
  from: number;
  to: number;
  granularity: Granularity;
}

/**
 * One per ad campaign (`adCampaignStub(env, adCampaignId)`): the only place that decides a
 * charge. Each event is checked and charged in one synchronous step (no await between reading
 * the remaining budget and writing the charge), and the object runs one such step at a time, so
 * the budgets hold as a hard cap under any concurrency. Status changes are decided here, written
 * to D1 and published on `campaign-lifecycle` before the call that caused them answers; one
 * alarm wakes the object at the next start, end or 00:00 UTC. An impression of a known user goes
 * to that user's frequency-cap count through an outbox written in the same step as the event.
 */
export class AdCampaign extends DurableObject<Env> {
  private live: LiveState | null = null;
  private loading: Promise<AdCampaignDefinition | null> | null = null;
  private readonly outbox: StatusOutbox;
  private readonly impressions: ImpressionOutbox;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.outbox = new StatusOutbox(ctx.storage.sql, env, () => this.live);
    // `this.env`, read when a flush runs, so a test can wrap the binding of a running object.
    this.impressions = new ImpressionOutbox(ctx.storage.sql, () => this.env);
    ctx.blockConcurrencyWhile(async () => {
      // Storage is created only when a campaign is installed: a request naming an unknown id
      // (a typo, a probe) must not leave an object behind.
      if (firstRow(ctx.storage.sql, "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = '_schema'")) {
        migrate(ctx.storage.sql, "ad-campaign", AD_CAMPAIGN_SCHEMA);
        this.live = readLiveState(this.ctx.storage.sql);
      }
    });
  }

  /**
   * Sets the campaign up from its D1 definition. Idempotent: the same definition again changes
   * nothing; a different one is a conflict (a campaign's terms never change under it).
   */
  async configure(definition: AdCampaignDefinition): Promise<Result<AdCampaignJson>> {
    if (this.live && !sameDefinition(this.live.definition, definition)) {
      return fail("conflict", `ad campaign ${definition.adCampaignId} already exists with other terms`);
    }
    const installed = this.install(definition, Date.now());
    if (installed) await this.syncStatusAndAlarm();
    const live = this.live!;
    return ok(adCampaignJson(live.definition, live.status));
  }

  /** Records an impression, view or click and decides, for a click, what it is charged. */
  async record(event: AdEventInput): Promise<Result<AdEventAnswer>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const outcome = this.transaction(() => this.recordNow(event, Date.now()));
    if (!outcome.ok) return outcome;
    // A charge (or a new event day) is published, and an impression counted for the user's cap,
    // before the answer, so serving sees both; what fails here is retried by the alarm.
    if (outcome.value.statusChanged || this.live!.version > this.live!.publishedVersion || this.impressions.hasPending()) {
      await this.syncStatusAndAlarm();
    }
    return ok(outcome.value.answer);
  }

  /** The campaign with its live status and spend. */
  async view(): Promise<Result<AdCampaignView>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const now = Date.now();
    if (this.transaction(() => this.refresh(now))) await this.syncStatusAndAlarm();
    return ok(this.currentView(now));
  }

  /**
   * Pauses or resumes. Doing what is already done changes nothing; an ended campaign, or one
   * whose total budget is spent, cannot be paused or resumed (409).
   */
  async setPaused(paused: boolean): Promise<Result<AdCampaignView>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const now = Date.now();
    const outcome = this.transaction((): Result<boolean> => {
      let changed = this.refresh(now);
      const live = this.live!;
      if (live.status === "ended" || live.status === "exhausted") {
        return fail("conflict", `ad campaign ${live.definition.adCampaignId} is ${live.status}; it can no longer be paused or resumed`);
      }
      if (live.spending.paused !== paused) {
        live.spending = { ...live.spending, paused };
        changed = this.refresh(now, true) || changed;
      }
      return ok(changed);
    });
    if (!outcome.ok) return outcome;
    if (outcome.value) await this.syncStatusAndAlarm();
    return ok(this.currentView(now));
  }

  /**
   * Applies an edit in one synchronous step, between two events: no click is charged under a mix of
   * old and new terms. The status is decided again at once (a budget lowered below the spend
   * exhausts, a raised one revives), and the terms reach D1's catalogue before the answer.
   */
  async update(patch: AdCampaignPatch): Promise<Result<AdCampaignView>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const now = Date.now();
    const outcome = this.transaction((): Result<true> => {
      this.refresh(now);
      const live = this.live!;
      const current = live.definition;
      if (live.status === "ended") return fail("conflict", `ad campaign ${current.adCampaignId} has ended; it can no longer be changed`);
      const errors: { path: string; message: string }[] = [];
      for (const field of ["cpc", "dailyBudget", "totalBudget"] as const) {
        const money = patch[field];
        if (money && money.currency !== current.currency) {
          errors.push({ path: `${field}.currency`, message: `must be the campaign's currency, ${current.currency}` });
        }
      }
      const next: AdCampaignDefinition = {
        ...current,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.cpc !== undefined ? { cpcMinor: patch.cpc.minor } : {}),
        ...(patch.dailyBudget !== undefined ? { dailyBudgetMinor: patch.dailyBudget?.minor ?? null } : {}),
        ...(patch.totalBudget !== undefined ? { totalBudgetMinor: patch.totalBudget.minor } : {}),
        ...(patch.endAt !== undefined ? { endAt: patch.endAt } : {}),
        ...(patch.frequencyCap !== undefined ? { frequencyCap: patch.frequencyCap } : {}),
        ...(patch.pacing !== undefined ? { pacing: patch.pacing } : {}),
      };
      if (next.endAt !== null && next.endAt <= next.startAt) errors.push({ path: "endDateTime", message: "must be after startDateTime" });
      if (next.pacing === "even" && next.dailyBudgetMinor === null) {
        errors.push({ path: patch.pacing !== undefined ? "pacing" : "dailyBudget", message: "even pacing needs a dailyBudget" });
      }
      if (errors.length > 0) return fail("unprocessable", errors.map((e) => `${e.path} ${e.message}`).join("; "), errors);
      live.definition = next;
      this.refresh(now, true);
      return ok(true);
    });
    if (!outcome.ok) return outcome;
    await this.syncStatusAndAlarm();
    return ok(this.currentView(now));
  }

  /**
   * Ends the campaign now and for good: its end becomes this moment, later clicks are recorded
   * but never charged, and edits and resumes are refused. Stopping a stopped campaign changes nothing.
   */
  async stop(): Promise<Result<AdCampaignView>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const now = Date.now();
    this.transaction(() => {
      this.refresh(now);
      const live = this.live!;
      if (live.status === "ended") return;
      live.definition = { ...live.definition, endAt: now };
      this.refresh(now, true);
    });
    await this.syncStatusAndAlarm();
    return ok(this.currentView(now));
  }

  /**
   * The campaign's figures for one closed UTC day (`day`, days since the epoch), summed from the
   * events that arrived that day (arrival decides the day a click is charged to, as for the daily
   * budget); null when nothing arrived. Events are kept 30 days, so a day can be closed that long.
   */
  async billingDay(day: number): Promise<Result<BillingDay | null>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    const sums = firstRow<{ events: number; impressions: number; clicks: number; charged_clicks: number; spend_minor: number }>(
      this.ctx.storage.sql,
      `SELECT COUNT(*) AS events,
              COALESCE(SUM(type = 'impression'), 0) AS impressions,
              COALESCE(SUM(type = 'click'), 0) AS clicks,
              COALESCE(SUM(charged_minor IS NOT NULL), 0) AS charged_clicks,
              COALESCE(SUM(charged_minor), 0) AS spend_minor
       FROM events WHERE received_at >= ? AND received_at < ?`,
      day * DAY_MS,
      (day + 1) * DAY_MS,
    );
    if (!sums || sums.events === 0) return ok(null);
    const definition = loaded.value;
    return ok({
      date: utcDate(day * DAY_MS),
      adCampaignId: definition.adCampaignId,
      advertiserId: definition.advertiserId,
      currency: definition.currency,
      impressions: sums.impressions,
      clicks: sums.clicks,
      chargedClicks: sums.charged_clicks,
      spendMinor: sums.spend_minor,
    });
  }

  /** Impressions, views, clicks, charged clicks, CTR and spend over `[from, to)` of event time. */
  async performance(query: PerformanceQuery): Promise<Result<PerformanceReport>> {
    const loaded = await this.ensureLoaded();
    if (!loaded.ok) return loaded;
    // Summed per bucket in SQL, so the answer's memory follows the bucket count, not the events.
    // Each group is represented by its first minute, which lies inside the range and its bucket.
    const size = GRANULARITY_MS[query.granularity];
    const minutes = rows<MinuteRow>(
      this.ctx.storage.sql,
      `SELECT MIN(minute) AS minute, SUM(impressions) AS impressions, SUM(views) AS views, SUM(clicks) AS clicks,
              SUM(charged_clicks) AS charged_clicks, SUM(spend_minor) AS spend_minor
       FROM minute_counters WHERE minute >= ? AND minute < ? GROUP BY minute / ?`,
      query.from,
      query.to,
      size,
    ).map((row): Counters & { minute: number } => ({
      minute: row.minute,
      impressions: row.impressions,
      views: row.views,
      clicks: row.clicks,
      chargedClicks: row.charged_clicks,
      spendMinor: row.spend_minor,
    }));
    const buckets = rollUp(minutes, query.from, query.to, query.granularity);
    return ok(performanceReport(sumCounters(buckets), buckets, loaded.value.currency));
  }

  /** Start, end, 00:00 UTC (daily budget renewed, old event ids forgotten) or a sync retry. */
  override async alarm(): Promise<void> {
    if (!this.live) return;
    const now = Date.now();
    this.transaction(() => {
      this.refresh(now);
      this.ctx.storage.sql.exec("DELETE FROM events WHERE received_at < ?", now - AD_EVENT_RETENTION_MS);
    });
    await this.syncStatusAndAlarm();
  }

  /**
   * Runs `body` as one storage transaction. The in-memory state is a cache of SQLite, so when the
   * transaction rolls back it is read again rather than trusted.
   */
  private transaction<T>(body: () => T): T {
    try {
      return this.ctx.storage.transactionSync(body);
    } catch (error) {
      this.live = readLiveState(this.ctx.storage.sql);
      throw error;
    }
  }

  private async ensureLoaded(): Promise<Result<AdCampaignDefinition>> {
    // The object is named by its campaign id (`adCampaignStub`).
    const adCampaignId = this.ctx.id.name ?? "";
    if (!this.live) {
      // An event can reach the object before the create request has configured it (or after a
      // configure call failed): the D1 row is the definition, so load it from there once.
      this.loading ??= this.loadDefinition(adCampaignId).finally(() => {
        this.loading = null;
      });
      const definition = await this.loading;
      if (definition && this.install(definition, Date.now())) await this.syncStatusAndAlarm();
    }
    if (!this.live || this.live.definition.adCampaignId !== adCampaignId) {
      return fail("not_found", `no ad campaign ${adCampaignId}`);
    }
    return ok(this.live.definition);
  }

  private async loadDefinition(adCampaignId: string): Promise<AdCampaignDefinition | null> {
    const [row] = await database(this.env.DB)
      .select()
      .from(schema.adCampaigns)
      .where(eq(schema.adCampaigns.adCampaignId, Number(adCampaignId)));
    return row ? definitionFromD1(row) : null;
  }

  /** Stores the definition and its first status, unless the object already has one. */
  private install(definition: AdCampaignDefinition, now: number): boolean {
    if (this.live) return false;
    const spending = freshSpending(now);
    const status = initialStatus(definition, now);
    // Never older than the row the create request wrote, so the object's first write lands.
    const changedAt = Math.max(now, definition.createdAt);
    this.transaction(() => {
      migrate(this.ctx.storage.sql, "ad-campaign", AD_CAMPAIGN_SCHEMA);
      this.ctx.storage.sql.exec(
        `INSERT INTO campaign (singleton, ad_campaign_id, advertiser_id, name, currency, cpc_minor, daily_budget_minor,
           total_budget_minor, start_at, end_at, created_at, paused, spent_day, spent_today_minor, spent_total_minor,
           status, status_changed_at, frequency_cap, pacing, version)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0, ?, ?, ?, ?, ?)`,
        definition.adCampaignId,
        definition.advertiserId,
        definition.name,
        definition.currency,
        definition.cpcMinor,
        definition.dailyBudgetMinor,
        definition.totalBudgetMinor,
        definition.startAt,
        definition.endAt,
        definition.createdAt,
        spending.spentDay,
        status,
        changedAt,
        definition.frequencyCap,
        definition.pacing,
        changedAt,
      );
      this.outbox.add(changedAt, status);
      this.live = { definition, spending, status, statusChangedAt: changedAt, lastEventDay: null, version: changedAt, publishedVersion: 0 };
    });
    return true;
  }

  /**
   * The synchronous heart: dedupe by event id, renew the day, decide the charge, write the event,
   * the counters and the new spend. Runs inside one storage transaction with no await.
   */
  private recordNow(event: AdEventInput, now: number): Result<{ answer: AdEventAnswer; statusChanged: boolean }> {
    const sql = this.ctx.storage.sql;
    const previous = firstRow<EventRow>(
      sql,
      "SELECT type, timestamp, user_id, ip, charged_minor, reason FROM events WHERE event_id = ?",
      event.eventId,
    );
    if (previous) {
      const stored = { type: previous.type, timestamp: previous.timestamp, userId: previous.user_id, ip: previous.ip };
      const sent = { type: event.type, timestamp: event.timestamp, userId: event.userId, ip: event.ip };
      if (!sameTerms(stored, sent)) return fail("idempotency_conflict", `event id ${event.eventId} was already used with a different payload`);
      return ok({ answer: this.answerOf(event.eventId, previous), statusChanged: false });
    }

    let statusChanged = this.refresh(now);
    const live = this.live!;
    const firstEventToday = live.lastEventDay !== utcDayNumber(now);
    live.lastEventDay = utcDayNumber(now);
    const visitor = visitorKey(event.userId, event.ip);
    let charged: number | null = null;
    let reason: NoChargeReason | null = null;
    if (event.type === "click") {
      reason = noChargeReason(live.status);
      if (reason === null && visitor !== null && this.hasChargedClickNear(visitor, event.timestamp)) reason = "duplicate_click";
      if (reason === null) {
        charged = clickCharge(live.definition, live.spending, now);
        live.spending = afterCharge(live.spending, charged, now);
      }
    }
    statusChanged = this.refresh(now, charged !== null || firstEventToday) || statusChanged;

    sql.exec(
      `INSERT INTO events (event_id, type, user_id, ip, visitor, timestamp, received_at, charged_minor, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      event.eventId,
      event.type,
      event.userId,
      event.ip,
      visitor,
      event.timestamp,
      now,
      charged,
      reason,
    );
    // Counted against the cap on the day the impression reached Tally, the day serving checks.
    if (event.type === "impression" && event.userId !== null) this.impressions.add(event.eventId, event.userId, utcDayNumber(now));
    sql.exec(
      `INSERT INTO minute_counters (minute, impressions, views, clicks, charged_clicks, spend_minor) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (minute) DO UPDATE SET
         impressions = impressions + excluded.impressions,
         views = views + excluded.views,
         clicks = clicks + excluded.clicks,
         charged_clicks = charged_clicks + excluded.charged_clicks,
         spend_minor = spend_minor + excluded.spend_minor`,
      Math.floor(event.timestamp / MINUTE_MS) * MINUTE_MS,
      event.type === "impression" ? 1 : 0,
      event.type === "view" ? 1 : 0,
      event.type === "click" ? 1 : 0,
      charged === null ? 0 : 1,
      charged ?? 0,
    );
    const answer: AdEventAnswer = {
      eventId: event.eventId,
      charged: charged === null ? null : toMoneyJson({ minor: charged, currency: live.definition.currency }),
      ...(reason === null ? {} : { reason }),
    };
    return ok({ answer, statusChanged });
  }

  private answerOf(eventId: string, row: EventRow): AdEventAnswer {
    const currency = this.live!.definition.currency;
    return {
      eventId,
      charged: row.charged_minor === null ? null : toMoneyJson({ minor: row.charged_minor, currency }),
      ...(row.reason === null ? {} : { reason: row.reason as NoChargeReason }),
    };
  }

  private hasChargedClickNear(visitor: string, timestamp: number): boolean {
    const nearest = firstRow<{ timestamp: number }>(
      this.ctx.storage.sql,
      `SELECT timestamp FROM events
       WHERE visitor = ? AND charged_minor IS NOT NULL AND timestamp > ? AND timestamp < ?
       LIMIT 1`,
      visitor,
      timestamp - DUPLICATE_CLICK_WINDOW_MS,
      timestamp + DUPLICATE_CLICK_WINDOW_MS,
    );
    return nearest !== undefined && isWithinDuplicateWindow(timestamp, nearest.timestamp);
  }

  /**
   * Renews the daily spend on a new UTC day and re-decides the status, writing the live state and
   * a new version when anything changed (`spendingChanged` forces it after a charge, an edit, a
   * pause or an event day's first event). Returns whether the status changed, in which case a
   * change waits in `status_changes` to be synced.
   */
  private refresh(now: number, spendingChanged = false): boolean {
    const live = this.live!;
    let dirty = spendingChanged;
    const today = utcDayNumber(now);
    if (live.spending.spentDay !== today) {
      live.spending = { ...live.spending, spentDay: today, spentTodayMinor: 0 };
      dirty = true;
    }
    const status = statusAt(live.definition, live.spending, now);
    const statusChanged = status !== live.status;
    if (statusChanged) {
      // Strictly increasing, so D1 can refuse a write that is older than the one it holds.
      live.statusChangedAt = Math.max(now, live.statusChangedAt + 1);
      live.status = status;
      this.outbox.add(live.statusChangedAt, status);
      dirty = true;
    }
    if (dirty) {
      // Strictly increasing, so D1 keeps the newest published state whatever order writes land in.
      live.version = Math.max(now, live.version + 1);
      const { definition, spending } = live;
      this.ctx.storage.sql.exec(
        `UPDATE campaign SET name = ?, cpc_minor = ?, daily_budget_minor = ?, total_budget_minor = ?, end_at = ?,
           frequency_cap = ?, pacing = ?, paused = ?, spent_day = ?, spent_today_minor = ?, spent_total_minor = ?,
           status = ?, status_changed_at = ?, last_event_day = ?, version = ?`,
        definition.name,
        definition.cpcMinor,
        definition.dailyBudgetMinor,
        definition.totalBudgetMinor,
        definition.endAt,
        definition.frequencyCap,
        definition.pacing,
        spending.paused ? 1 : 0,
        spending.spentDay,
        spending.spentTodayMinor,
        spending.spentTotalMinor,
        live.status,
        live.statusChangedAt,
        live.lastEventDay,
        live.version,
      );
    }
    return statusChanged;
  }

  /**
   * Writes pending status changes to D1 and the queue and hands pending impressions to their
   * users, then sets the one alarm. A failed sync is logged and retried by the alarm: the charge
   * or impression that caused it is already durable, so the event's answer stands.
   */
  private async syncStatusAndAlarm(): Promise<void> {
    let pending = false;
    const adCampaignId = this.live?.definition.adCampaignId;
    try {
      if (this.live) await this.outbox.flush();
    } catch (error) {
      pending = true;
      log("error", "ad campaign status sync failed; the alarm retries", { system: "ads", adCampaignId, error });
    }
    try {
      if (adCampaignId !== undefined && this.impressions.hasPending()) await this.impressions.flush(adCampaignId);
    } catch (error) {
      pending = true;
      log("error", "impressions not yet counted for frequency caps; the alarm retries", { system: "ads", adCampaignId, error });
    }
    await this.scheduleAlarm(Date.now(), pending);
  }

  private async scheduleAlarm(now: number, retrySync: boolean): Promise<void> {
    const live = this.live;
    if (!live) return;
    const moments = [nextScheduledMoment(live.definition, live.status, now), retrySync ? now + SYNC_RETRY_MS : null].filter(
      (moment): moment is number => moment !== null,
    );
    const next = moments.length > 0 ? Math.min(...moments) : null;
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current !== next) {
      await this.ctx.storage.setAlarm(next);
    }
  }

  private currentView(now: number): AdCampaignView {
    const live = this.live!;
    return adCampaignView(live.definition, live.status, live.spending, now);
  }
}

/** Whether two definitions set the same terms (the creation time is not a term). */
export function sameDefinition(a: AdCampaignDefinition, b: AdCampaignDefinition): boolean {
  return sameTerms({ ...a, createdAt: undefined }, { ...b, createdAt: undefined });
}
