CREATE TABLE `ad_campaigns` (
	`ad_campaign_id` integer PRIMARY KEY NOT NULL,
	`advertiser_id` integer NOT NULL,
	`name` text NOT NULL,
	`currency` text NOT NULL,
	`cpc_minor` integer NOT NULL,
	`daily_budget_minor` integer,
	`total_budget_minor` integer NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer,
	`status` text NOT NULL,
	`status_changed_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ad_campaigns_by_status` ON `ad_campaigns` (`status`);--> statement-breakpoint
CREATE TABLE `campaign_winners` (
	`campaign_id` integer PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`total_minor` integer NOT NULL,
	`prize_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`decided_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `campaigns` (
	`campaign_id` integer PRIMARY KEY NOT NULL,
	`item_id` integer NOT NULL,
	`prize_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer NOT NULL,
	`ended_at` integer,
	`settled_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `campaigns_by_item` ON `campaigns` (`item_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `campaigns_by_window` ON `campaigns` (`start_at`,`end_at`);--> statement-breakpoint
CREATE TABLE `charities` (
	`charity_id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`points_donated` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `connections` (
	`request_id` text PRIMARY KEY NOT NULL,
	`citizen_id` integer NOT NULL,
	`officer_id` integer NOT NULL,
	`zip` text NOT NULL,
	`points_each` integer NOT NULL,
	`established_at` integer NOT NULL,
	`day` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `connections_by_zip` ON `connections` (`zip`,`established_at`);--> statement-breakpoint
CREATE INDEX `connections_by_day` ON `connections` (`day`);--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`dead_letter_id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`received_at` integer NOT NULL,
	`redriven_at` integer
);
--> statement-breakpoint
CREATE INDEX `dead_letters_pending` ON `dead_letters` (`redriven_at`,`received_at`);--> statement-breakpoint
CREATE TABLE `donations` (
	`donation_id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`charity_id` text NOT NULL,
	`points` integer NOT NULL,
	`donated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `donations_by_charity` ON `donations` (`charity_id`);--> statement-breakpoint
CREATE TABLE `employer_incentives` (
	`employer_incentive_id` integer PRIMARY KEY NOT NULL,
	`employer_id` integer NOT NULL,
	`program_id` integer NOT NULL,
	`incentive_id` integer NOT NULL,
	`reward_description` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `employer_incentives_unique` ON `employer_incentives` (`employer_id`,`program_id`,`incentive_id`);--> statement-breakpoint
CREATE INDEX `employer_incentives_by_employer` ON `employer_incentives` (`employer_id`);--> statement-breakpoint
CREATE TABLE `exchange_rates` (
	`base` text NOT NULL,
	`quote` text NOT NULL,
	`rate` text NOT NULL,
	`effective_from` integer NOT NULL,
	PRIMARY KEY(`base`, `quote`, `effective_from`)
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`response` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`scope`, `key`)
);
--> statement-breakpoint
CREATE TABLE `incentive_awards` (
	`award_id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`employer_id` integer NOT NULL,
	`employer_incentive_id` integer NOT NULL,
	`incentive_id` integer NOT NULL,
	`reward_description` text NOT NULL,
	`awarded_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `incentive_awards_once` ON `incentive_awards` (`user_id`,`employer_incentive_id`);--> statement-breakpoint
CREATE INDEX `incentive_awards_by_employer` ON `incentive_awards` (`employer_id`,`awarded_at`);--> statement-breakpoint
CREATE TABLE `incentives` (
	`incentive_id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`rule_kind` text NOT NULL,
	`event` text NOT NULL,
	`days` integer,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `offers` (
	`offer_id` text PRIMARY KEY NOT NULL,
	`retailer` text NOT NULL,
	`title` text NOT NULL,
	`points_cost` integer NOT NULL,
	`stock` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `redemptions` (
	`redemption_id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`offer_id` text NOT NULL,
	`points` integer NOT NULL,
	`voucher_code` text NOT NULL,
	`redeemed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `redemptions_by_user` ON `redemptions` (`user_id`);