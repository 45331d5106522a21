ALTER TABLE `incentives` ADD `times` integer;--> statement-breakpoint
ALTER TABLE `incentives` ADD `within_days` integer;