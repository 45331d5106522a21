CREATE TABLE `incentive_history` (
	`employer_id` integer NOT NULL,
	`event` text NOT NULL,
	`user_id` integer NOT NULL,
	PRIMARY KEY(`employer_id`, `event`, `user_id`)
);
--> statement-breakpoint
ALTER TABLE `employer_incentives` ADD `count_from_day` integer;