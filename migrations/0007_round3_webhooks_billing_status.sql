-- Round 3: webhooks' trust, dead-letter redaction and billing catch-up, queue status.
-- Written by hand where drizzle-kit cannot say it (the back-fill, the expression index); drizzle's
-- snapshot (meta/0007_snapshot.json) matches shared/db/schema.ts after it.

-- Webhook ids are never reused: deleting keeps the row as a tombstone (secret wiped) and its log.
ALTER TABLE `webhooks` ADD `deleted_at` integer;--> statement-breakpoint
-- Secret rotation: the replaced secret keeps signing beside the new one until this time.
ALTER TABLE `webhooks` ADD `previous_secret` text;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_until` integer;--> statement-breakpoint
-- `connection.shared` is published once, on the transition to both consents.
ALTER TABLE `connections` ADD `shared_published_at` integer;--> statement-breakpoint
-- Connections both parties shared before this migration were published already.
UPDATE `connections` SET `shared_published_at` = max(`citizen_shared_at`, `officer_shared_at`)
  WHERE `citizen_shared_at` IS NOT NULL AND `officer_shared_at` IS NOT NULL;--> statement-breakpoint
-- The employer's opt-in to send the user id and reward text with `incentive.awarded` webhooks.
ALTER TABLE `employer_incentives` ADD `share_with_webhooks` integer DEFAULT false NOT NULL;
--> statement-breakpoint
-- Erasing a cookie redacts its dead letters (issue 24, finding 9): redacted letters are never re-driven.
ALTER TABLE `dead_letters` ADD `redacted_at` integer;--> statement-breakpoint
CREATE INDEX `dead_letters_user_tag_cookie` ON `dead_letters` (json_extract(body, '$.cookie')) WHERE kind = 'user-tag';
--> statement-breakpoint
-- The days the billing job closed, so a run after an outage closes every missed day (finding 12).
CREATE TABLE `ad_billing_closed_days` (
	`date` text PRIMARY KEY NOT NULL,
	`closed_at` integer NOT NULL
);
--> statement-breakpoint
-- The billing rows the payments side applied, by dedupe key: each is applied once (finding 12).
CREATE TABLE `ad_billing_handovers` (
	`dedupe_key` text PRIMARY KEY NOT NULL,
	`handed_over_at` integer NOT NULL
);
--> statement-breakpoint
-- Each consumer's latest batch, one upsert per batch, for GET /admin/status (issue #30).
CREATE TABLE `queue_status` (
	`queue` text PRIMARY KEY NOT NULL,
	`last_batch_at` integer NOT NULL,
	`max_lag_ms` integer NOT NULL,
	`messages` integer NOT NULL,
	`failed` integer DEFAULT false NOT NULL
);
