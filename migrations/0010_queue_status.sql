CREATE TABLE `queue_status` (
	`queue` text PRIMARY KEY NOT NULL,
	`last_batch_at` integer NOT NULL,
	`max_lag_ms` integer NOT NULL,
	`messages` integer NOT NULL,
	`failed` integer DEFAULT false NOT NULL
);
