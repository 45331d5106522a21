ALTER TABLE `redemptions` ADD `used_at` integer;--> statement-breakpoint
CREATE INDEX `redemptions_by_time` ON `redemptions` (`redeemed_at`,`offer_id`);--> statement-breakpoint
CREATE INDEX `donations_by_time` ON `donations` (`donated_at`,`charity_id`);