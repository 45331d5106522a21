/**
 * The D1 schema: catalogues and records read across entities. The one source of truth for
 * migrations: change it here, then `npm run db:generate` writes the next file in migrations/.
 * Times are epoch milliseconds; money is integer minor units beside its currency.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// ---- Cross-cutting -------------------------------------------------------------------------

/** Queue messages whose retries ran out, kept for an admin to inspect and re-drive. */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    deadLetterId: text("dead_letter_id").primaryKey(),
    queue: text("queue").notNull(),
    kind: text("kind").notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    receivedAt: integer("received_at").notNull(),
    redrivenAt: integer("redriven_at"),
    /** When the body was replaced by `{"kind","redacted":true}` (its cookie was erased); never re-driven. */
    redactedAt: integer("redacted_at"),
  },
  (t) => [
    index("dead_letters_pending").on(t.redrivenAt, t.receivedAt),
    // An erase finds the cookie's user-tag letters without reading every letter.
    index("dead_letters_user_tag_cookie").on(sql`json_extract(body, '$.cookie')`).where(sql`kind = 'user-tag'`),
  ],
);

/**
 * Each queue consumer's latest batch, one row per queue, upserted once per batch (never per
 * message) for `GET /admin/status`.
 */
export const queueStatus = sqliteTable("queue_status", {
  queue: text("queue").primaryKey(),
  lastBatchAt: integer("last_batch_at").notNull(),
  /** Age of the oldest message in that batch when it started, from `message.timestamp`. */
  maxLagMs: integer("max_lag_ms").notNull(),
  messages: integer("messages").notNull(),
  /** The consumer threw (the whole batch is retried by the platform). */
  failed: integer("failed", { mode: "boolean" }).notNull().default(false),
});

// ---- Campaign scoring ----------------------------------------------------------------------

export const campaigns = sqliteTable(
  "campaigns",
  {
    campaignId: integer("campaign_id").primaryKey(),
    itemId: integer("item_id").notNull(),
    prizeMinor: integer("prize_minor").notNull(),
    currency: text("currency").notNull(),
    startAt: integer("start_at").notNull(),
    endAt: integer("end_at").notNull(),
    /** Set when an admin ends the campaign early; qualification then stops at this moment. */
    endedAt: integer("ended_at"),
    /** Prize tiers below position 0 as JSON `[{fromPosition,toPosition,prizeMinor}]` in `currency`; null when none. */
    prizes: text("prizes"),
    settledAt: integer("settled_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("campaigns_by_item").on(t.itemId, t.startAt), index("campaigns_by_window").on(t.startAt, t.endAt)],
);

export const campaignWinners = sqliteTable("campaign_winners", {
  campaignId: integer("campaign_id").primaryKey(),
  userId: integer("user_id").notNull(),
  totalMinor: integer("total_minor").notNull(),
  prizeMinor: integer("prize_minor").notNull(),
  currency: text("currency").notNull(),
  decidedAt: integer("decided_at").notNull(),
});

/**
 * Display names shown on every leaderboard row and to citizens nearby; set by
 * `PUT /users/{id}/profile` or a bulk import. `precinct` is set for officers (officers import).
 * Called `displayNames` in code: "profile" there means an Allezon cookie's tags (ProfileStore); the
 * table keeps its shipped name.
 */
export const displayNames = sqliteTable("user_profiles", {
  userId: integer("user_id").primaryKey(),
  displayName: text("display_name").notNull(),
  precinct: text("precinct"),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Which boards rank a user, written by the board the first time the user scores there, so a
 * rename reaches exactly those boards.
 */
export const campaignParticipants = sqliteTable(
  "campaign_participants",
  {
    userId: integer("user_id").notNull(),
    campaignId: integer("campaign_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.campaignId] })],
);

/** Every paid position of a settled campaign (position 0 included), decided once before any payment. */
export const campaignPlacings = sqliteTable(
  "campaign_placings",
  {
    campaignId: integer("campaign_id").notNull(),
    position: integer("position").notNull(),
    userId: integer("user_id").notNull(),
    totalMinor: integer("total_minor").notNull(),
    prizeMinor: integer("prize_minor").notNull(),
    currency: text("currency").notNull(),
    decidedAt: integer("decided_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.position] })],
);

/** `1 base = rate quote`, in force from `effectiveFrom` until a later row for the pair. */
export const exchangeRates = sqliteTable(
  "exchange_rates",
  {
    base: text("base").notNull(),
    quote: text("quote").notNull(),
    rate: text("rate").notNull(),
    effectiveFrom: integer("effective_from").notNull(),
  },
  (t) => [primaryKey({ columns: [t.base, t.quote, t.effectiveFrom] })],
);

// ---- Ad campaign performance ---------------------------------------------------------------

export const adCampaigns = sqliteTable(
  "ad_campaigns",
  {
    adCampaignId: integer("ad_campaign_id").primaryKey(),
    advertiserId: integer("advertiser_id").notNull(),
    name: text("name").notNull(),
    currency: text("currency").notNull(),
    cpcMinor: integer("cpc_minor").notNull(),
    dailyBudgetMinor: integer("daily_budget_minor"),
    totalBudgetMinor: integer("total_budget_minor").notNull(),
    startAt: integer("start_at").notNull(),
    endAt: integer("end_at"),
    /**
     * Mirrored from the campaign's `AdCampaign` object, which alone decides it. The object's
     * `statusChangedAt` strictly increases and a write lands only when not older, so status
     * writes that overtake each other never leave an older status behind.
     */
    status: text("status").notNull(),
    statusChangedAt: integer("status_changed_at").notNull(),
    createdAt: integer("created_at").notNull(),
    /** `frequencyCap.impressionsPerUserPerDay`; null when uncapped. */
    frequencyCap: integer("frequency_cap"),
    pacing: text("pacing").notNull().default("asap"),
    /**
     * The object's spend as of its last published state (written before a charged click answers),
     * so `GET /ads/serve` can apply budgets and even pacing from one catalogue read.
     */
    spentDay: integer("spent_day").notNull().default(0),
    spentTodayMinor: integer("spent_today_minor").notNull().default(0),
    spentTotalMinor: integer("spent_total_minor").notNull().default(0),
    /** The latest UTC day (days since the epoch) with any event: the billing job asks only such campaigns. */
    lastEventDay: integer("last_event_day"),
    /** The object's state version: strictly increasing, a publish lands only when not older than the row. */
    version: integer("version").notNull().default(0),
  },
  (t) => [index("ad_campaigns_by_status").on(t.status), index("ad_campaigns_by_last_event_day").on(t.lastEventDay)],
);

/**
 * One row per ad campaign and closed UTC day with activity, written once by the daily job (the key
 * makes a second run a no-op) and published on `ad-billing`; `publishedAt` stays null until sent.
 */
export const adBillingDays = sqliteTable(
  "ad_billing_days",
  {
    date: text("date").notNull(),
    adCampaignId: integer("ad_campaign_id").notNull(),
    advertiserId: integer("advertiser_id").notNull(),
    impressions: integer("impressions").notNull(),
    clicks: integer("clicks").notNull(),
    chargedClicks: integer("charged_clicks").notNull(),
    spendMinor: integer("spend_minor").notNull(),
    currency: text("currency").notNull(),
    closedAt: integer("closed_at").notNull(),
    publishedAt: integer("published_at"),
  },
  (t) => [primaryKey({ columns: [t.date, t.adCampaignId] }), index("ad_billing_days_unpublished").on(t.publishedAt)],
);

/**
 * The UTC days the daily billing job has closed for every campaign, so a run after an outage
 * closes each day missed since the last one closed (`closeAdBillingDays`).
 */
export const adBillingClosedDays = sqliteTable("ad_billing_closed_days", {
  date: text("date").primaryKey(),
  closedAt: integer("closed_at").notNull(),
});

/**
 * The payments side's record of the billing rows it applied, by each message's `dedupeKey`: a row
 * published twice (overlapping runs, a send repeated after a crash) is applied once.
 */
export const adBillingHandovers = sqliteTable("ad_billing_handovers", {
  dedupeKey: text("dedupe_key").primaryKey(),
  handedOverAt: integer("handed_over_at").notNull(),
});

// ---- Employee incentives -------------------------------------------------------------------

/**
 * The global catalogue. `days` is set for `streak` rules only, `times` and `within_days` for `count`
 * rules only; the event consumer reads by `event`.
 */
export const incentives = sqliteTable(
  "incentives",
  {
    incentiveId: integer("incentive_id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    ruleKind: text("rule_kind").notNull(),
    event: text("event").notNull(),
    days: integer("days"),
    times: integer("times"),
    withinDays: integer("within_days"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("incentives_by_event").on(t.event)],
);

export const employerIncentives = sqliteTable(
  "employer_incentives",
  {
    employerIncentiveId: integer("employer_incentive_id").primaryKey(),
    employerId: integer("employer_id").notNull(),
    programId: integer("program_id").notNull(),
    incentiveId: integer("incentive_id").notNull(),
    rewardDescription: text("reward_description").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Set once when the employer detaches it: no new awards from then on, awards made stay. */
    detachedAt: integer("detached_at"),
    /** Attached with `countFrom: "attach"`: only days from this UTC day number count; null counts all history. */
    countFromDay: integer("count_from_day"),
    /** The employer's opt-in: `incentive.awarded` webhooks carry the user id and reward text (off by default). */
    shareWithWebhooks: integer("share_with_webhooks", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    uniqueIndex("employer_incentives_unique").on(t.employerId, t.programId, t.incentiveId),
    index("employer_incentives_by_employer").on(t.employerId),
  ],
);

/**
 * Which users have any history for an (employer, event): written once per pair, the first time
 * the user's object records such a day, so attaching an incentive (or changing its rule) can
 * evaluate exactly those users, page by page, without visiting every user.
 */
export const incentiveHistory = sqliteTable(
  "incentive_history",
  {
    employerId: integer("employer_id").notNull(),
    event: text("event").notNull(),
    userId: integer("user_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.employerId, t.event, t.userId] })],
);

export const incentiveAwards = sqliteTable(
  "incentive_awards",
  {
    awardId: text("award_id").primaryKey(),
    userId: integer("user_id").notNull(),
    employerId: integer("employer_id").notNull(),
    employerIncentiveId: integer("employer_incentive_id").notNull(),
    incentiveId: integer("incentive_id").notNull(),
    rewardDescription: text("reward_description").notNull(),
    awardedAt: integer("awarded_at").notNull(),
    /** The event whose arrival made the rule hold. */
    eventId: text("event_id"),
    /** Set once by the `incentive-awards` consumer; a redelivered award message leaves it as it was. */
    fulfilledAt: integer("fulfilled_at"),
  },
  (t) => [
    uniqueIndex("incentive_awards_once").on(t.userId, t.employerIncentiveId),
    index("incentive_awards_by_employer").on(t.employerId, t.awardedAt),
    index("incentive_awards_by_user").on(t.userId, t.awardedAt),
  ],
);

// ---- Officer–citizen connections and rewards -----------------------------------------------

/**
 * Retailer offers bought with points. `stock` is what is left (null: unlimited); it only goes down.
 * `retailer` is the retailer's id: a retailer token whose `retailerId` claim equals it may mark
 * this offer's vouchers used.
 */
export const offers = sqliteTable("offers", {
  offerId: text("offer_id").primaryKey(),
  retailer: text("retailer").notNull(),
  title: text("title").notNull(),
  pointsCost: integer("points_cost").notNull(),
  stock: integer("stock"),
  /** The stock it was created with, so a resent create can be recognised as the same payload. */
  initialStock: integer("initial_stock"),
  createdAt: integer("created_at").notNull(),
});

export const charities = sqliteTable("charities", {
  charityId: text("charity_id").primaryKey(),
  name: text("name").notNull(),
  pointsDonated: integer("points_donated").notNull().default(0),
  createdAt: integer("created_at").notNull(),
});

/** One per redemption id. `applied` flips to 1 in the same batch that takes one from the offer's stock. */
export const redemptions = sqliteTable(
  "redemptions",
  {
    redemptionId: text("redemption_id").primaryKey(),
    userId: text("user_id").notNull(),
    offerId: text("offer_id").notNull(),
    points: integer("points").notNull(),
    voucherCode: text("voucher_code").notNull(),
    redeemedAt: integer("redeemed_at").notNull(),
    applied: integer("applied").notNull().default(0),
    /** When the retailer accepted the voucher (`POST /vouchers/{code}/use`); set once, never cleared. */
    usedAt: integer("used_at"),
  },
  (t) => [index("redemptions_by_user").on(t.userId), index("redemptions_by_time").on(t.redeemedAt, t.offerId)],
);

/** One per donation id. `applied` flips to 1 in the same batch that adds to the charity's total. */
export const donations = sqliteTable(
  "donations",
  {
    donationId: text("donation_id").primaryKey(),
    userId: text("user_id").notNull(),
    charityId: text("charity_id").notNull(),
    points: integer("points").notNull(),
    donatedAt: integer("donated_at").notNull(),
    applied: integer("applied").notNull().default(0),
  },
  (t) => [index("donations_by_charity").on(t.charityId), index("donations_by_time").on(t.donatedAt, t.charityId)],
);

/**
 * Which zip's `ZipArea` holds a connection request, so `GET /connections/{id}` finds it, and who
 * may read it. Written before the object records the request; a row whose request the object
 * refused (officer not available) leads nowhere and is answered 404.
 */
export const connectionRequests = sqliteTable("connection_requests", {
  requestId: text("request_id").primaryKey(),
  zip: text("zip").notNull(),
  citizenId: text("citizen_id").notNull(),
  officerId: text("officer_id").notNull(),
  lat: real("lat").notNull(),
  lng: real("lng").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Established connections, written by the `established-connections` consumer, read by reports. */
export const connections = sqliteTable(
  "connections",
  {
    requestId: text("request_id").primaryKey(),
    citizenId: text("citizen_id").notNull(),
    officerId: text("officer_id").notNull(),
    zip: text("zip").notNull(),
    pointsEach: integer("points_each").notNull(),
    establishedAt: integer("established_at").notNull(),
    /** UTC day of `establishedAt` (`2026-11-22`), for the by-day report. */
    day: text("day").notNull(),
    /** When each party consented to share it publicly (`POST /connections/{id}/share`); null until then. */
    citizenSharedAt: integer("citizen_shared_at"),
    officerSharedAt: integer("officer_shared_at"),
    /** When `connection.shared` was published, after both consents: it goes out once, on that transition. */
    sharedPublishedAt: integer("shared_published_at"),
  },
  (t) => [index("connections_by_zip").on(t.establishedAt, t.zip), index("connections_by_day").on(t.day)],
);

// ---- Webhooks ------------------------------------------------------------------------------

/**
 * Endpoints an admin registered for events. The secret is kept (not only a hash of it) because
 * every delivery is signed with it, encrypted under `WEBHOOK_ENCRYPTION_KEY` (shared/webhooks/
 * secrets.ts). A deleted webhook stays as a tombstone so its id is never reused and its log stays.
 */
export const webhooks = sqliteTable("webhooks", {
  webhookId: text("webhook_id").primaryKey(),
  url: text("url").notNull(),
  /** JSON array of the event types it receives. */
  events: text("events").notNull(),
  /** The signing secret, encrypted; empty once the webhook is deleted. */
  secret: text("secret").notNull(),
  createdAt: integer("created_at").notNull(),
  /** The secret a rotation replaced (encrypted), still signing beside the new one until `previousSecretUntil`. */
  previousSecret: text("previous_secret"),
  previousSecretUntil: integer("previous_secret_until"),
  /** Set when an admin deletes it: nothing is sent any more, the id stays taken, the log stays readable. */
  deletedAt: integer("deleted_at"),
});

/** Every delivery attempt of every event to every webhook, newest with the highest id. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    deliveryId: integer("delivery_id").primaryKey({ autoIncrement: true }),
    webhookId: text("webhook_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    attempt: integer("attempt").notNull(),
    /** The receiver's HTTP status; null when no answer came (network error, timeout). */
    status: integer("status"),
    durationMs: integer("duration_ms").notNull(),
    error: text("error"),
    /** Set on the last failed attempt, once 24 h passed since the event was queued: no retry follows. */
    gaveUp: integer("gave_up", { mode: "boolean" }).notNull().default(false),
    at: integer("at").notNull(),
  },
  (t) => [index("webhook_deliveries_by_webhook").on(t.webhookId, t.deliveryId), index("webhook_deliveries_by_event").on(t.eventId, t.webhookId)],
);
