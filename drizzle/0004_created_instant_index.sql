DROP INDEX `users_created_at_id_idx`;--> statement-breakpoint
CREATE INDEX `users_created_instant_id_idx` ON `users` (julianday("created_at"),`id`);