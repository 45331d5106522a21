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
