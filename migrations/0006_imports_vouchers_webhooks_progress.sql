CREATE TABLE `webhook_deliveries` (
	`delivery_id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`webhook_id` text NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` integer,
	`duration_ms` integer NOT NULL,
	`error` text,
	`gave_up` integer DEFAULT false NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_by_webhook` ON `webhook_deliveries` (`webhook_id`,`delivery_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_by_event` ON `webhook_deliveries` (`event_id`,`webhook_id`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`webhook_id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `connections` ADD `citizen_shared_at` integer;--> statement-breakpoint
ALTER TABLE `connections` ADD `officer_shared_at` integer;--> statement-breakpoint
ALTER TABLE `incentives` ADD `times` integer;--> statement-breakpoint
ALTER TABLE `incentives` ADD `within_days` integer;--> statement-breakpoint
ALTER TABLE `redemptions` ADD `used_at` integer;--> statement-breakpoint
CREATE INDEX `redemptions_by_time` ON `redemptions` (`redeemed_at`,`offer_id`);--> statement-breakpoint
CREATE INDEX `donations_by_time` ON `donations` (`donated_at`,`charity_id`);