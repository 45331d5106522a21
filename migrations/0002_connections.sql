CREATE TABLE `connection_requests` (
	`request_id` text PRIMARY KEY NOT NULL,
	`zip` text NOT NULL,
	`citizen_id` text NOT NULL,
	`officer_id` text NOT NULL,
	`lat` real NOT NULL,
	`lng` real NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_connections` (
	`request_id` text PRIMARY KEY NOT NULL,
	`citizen_id` text NOT NULL,
	`officer_id` text NOT NULL,
	`zip` text NOT NULL,
	`points_each` integer NOT NULL,
	`established_at` integer NOT NULL,
	`day` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_connections`("request_id", "citizen_id", "officer_id", "zip", "points_each", "established_at", "day") SELECT "request_id", "citizen_id", "officer_id", "zip", "points_each", "established_at", "day" FROM `connections`;--> statement-breakpoint
DROP TABLE `connections`;--> statement-breakpoint
ALTER TABLE `__new_connections` RENAME TO `connections`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `connections_by_zip` ON `connections` (`established_at`,`zip`);--> statement-breakpoint
CREATE INDEX `connections_by_day` ON `connections` (`day`);--> statement-breakpoint
CREATE TABLE `__new_donations` (
	`donation_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`charity_id` text NOT NULL,
	`points` integer NOT NULL,
	`donated_at` integer NOT NULL,
	`applied` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_donations`("donation_id", "user_id", "charity_id", "points", "donated_at") SELECT "donation_id", "user_id", "charity_id", "points", "donated_at" FROM `donations`;--> statement-breakpoint
DROP TABLE `donations`;--> statement-breakpoint
ALTER TABLE `__new_donations` RENAME TO `donations`;--> statement-breakpoint
CREATE INDEX `donations_by_charity` ON `donations` (`charity_id`);--> statement-breakpoint
CREATE TABLE `__new_redemptions` (
	`redemption_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`offer_id` text NOT NULL,
	`points` integer NOT NULL,
	`voucher_code` text NOT NULL,
	`redeemed_at` integer NOT NULL,
	`applied` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_redemptions`("redemption_id", "user_id", "offer_id", "points", "voucher_code", "redeemed_at") SELECT "redemption_id", "user_id", "offer_id", "points", "voucher_code", "redeemed_at" FROM `redemptions`;--> statement-breakpoint
DROP TABLE `redemptions`;--> statement-breakpoint
ALTER TABLE `__new_redemptions` RENAME TO `redemptions`;--> statement-breakpoint
CREATE INDEX `redemptions_by_user` ON `redemptions` (`user_id`);--> statement-breakpoint
ALTER TABLE `offers` ADD `initial_stock` integer;