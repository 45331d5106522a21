ALTER TABLE `incentive_awards` ADD `event_id` text;--> statement-breakpoint
ALTER TABLE `incentive_awards` ADD `fulfilled_at` integer;--> statement-breakpoint
CREATE INDEX `incentive_awards_by_user` ON `incentive_awards` (`user_id`,`awarded_at`);--> statement-breakpoint
CREATE INDEX `incentives_by_event` ON `incentives` (`event`);