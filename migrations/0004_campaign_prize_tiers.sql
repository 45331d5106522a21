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
ALTER TABLE `campaigns` ADD `prizes` text;