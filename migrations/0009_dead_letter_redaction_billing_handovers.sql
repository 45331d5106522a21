-- Erasing a cookie redacts its dead letters (issue 24, finding 9): redacted letters are never re-driven.
ALTER TABLE `dead_letters` ADD `redacted_at` integer;--> statement-breakpoint
CREATE INDEX `dead_letters_user_tag_cookie` ON `dead_letters` (json_extract(body, '$.cookie')) WHERE kind = 'user-tag';
