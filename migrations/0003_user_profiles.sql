CREATE TABLE `campaign_participants` (
	`user_id` integer NOT NULL,
	`campaign_id` integer NOT NULL,
	PRIMARY KEY(`user_id`, `campaign_id`)
);
--> statement-breakpoint
CREATE TABLE `user_profiles` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`updated_at` integer NOT NULL
);
