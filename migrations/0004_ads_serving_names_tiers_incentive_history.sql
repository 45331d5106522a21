CREATE TABLE `ad_billing_days` (
	`date` text NOT NULL,
	`ad_campaign_id` integer NOT NULL,
	`advertiser_id` integer NOT NULL,
	`impressions` integer NOT NULL,
	`clicks` integer NOT NULL,
	`charged_clicks` integer NOT NULL,
	`spend_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`closed_at` integer NOT NULL,
	`published_at` integer,
	PRIMARY KEY(`date`, `ad_campaign_id`)
);
--> statement-breakpoint
CREATE INDEX `ad_billing_days_unpublished` ON `ad_billing_days` (`published_at`);--> statement-breakpoint
CREATE TABLE `campaign_participants` (
	`user_id` integer NOT NULL,
	`campaign_id` integer NOT NULL,
	PRIMARY KEY(`user_id`, `campaign_id`)
);
--> statement-breakpoint
CREATE TABLE `campaign_placings` (
	`campaign_id` integer NOT NULL,
	`position` integer NOT NULL,
	`user_id` integer NOT NULL,
	`total_minor` integer NOT NULL,
	`prize_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`decided_at` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `position`)
);
--> statement-breakpoint
CREATE TABLE `incentive_history` (
	`employer_id` integer NOT NULL,
	`event` text NOT NULL,
	`user_id` integer NOT NULL,
	PRIMARY KEY(`employer_id`, `event`, `user_id`)
);
--> statement-breakpoint
CREATE TABLE `user_profiles` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `frequency_cap` integer;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `pacing` text DEFAULT 'asap' NOT NULL;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `spent_day` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `spent_today_minor` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `spent_total_minor` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `last_event_day` integer;--> statement-breakpoint
ALTER TABLE `ad_campaigns` ADD `version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `ad_campaigns_by_last_event_day` ON `ad_campaigns` (`last_event_day`);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `prizes` text;--> statement-breakpoint
ALTER TABLE `employer_incentives` ADD `detached_at` integer;--> statement-breakpoint
ALTER TABLE `employer_incentives` ADD `count_from_day` integer;