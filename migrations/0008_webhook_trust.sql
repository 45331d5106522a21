-- Issue #24: webhooks' trust. Hand-written (the lead regenerates drizzle's meta snapshot).
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
