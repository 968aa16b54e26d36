CREATE TABLE `database_generation` (
	`id` integer PRIMARY KEY NOT NULL,
	`generation` text NOT NULL,
	`restored_at` text,
	CONSTRAINT "database_generation_one_row" CHECK("database_generation"."id" = 1)
);
