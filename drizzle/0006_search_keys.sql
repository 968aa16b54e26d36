ALTER TABLE `users` ADD `search_key` text;--> statement-breakpoint
ALTER TABLE `users` ADD `search_key_of` text;