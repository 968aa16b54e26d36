// Opens the SQLite file with moxie's settings and brings its schema up to date from the embedded migrations.
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { migrateClient, type MigrationOutcome } from "./adopt.ts";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };
/** The database or a transaction on it: what a query needs. */
export type Executor = BaseSQLiteDatabase<"sync", unknown, typeof schema>;

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export class DatabaseOpenError extends Error {
  override name = "DatabaseOpenError";
}

/**
 * Opens (creating if needed) the database at `path` and brings its schema up to date: moxie's own file, a new
 * one, or one the Python original left (adopted in place). The directory and file are created owner-only: they
 * hold password hashes. Throws DatabaseOpenError when the file cannot be opened, UnknownDatabaseError for a file
 * that is neither moxie's nor the original's, MigrationError when a migration fails; then nothing was written.
 */
export function openDatabase(path: string, options: { onMigrated?: (outcome: MigrationOutcome) => void } = {}): Db {
  let client: Database;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file ourselves so it starts 0600; SQLite gives -wal and -shm the same mode. An empty file
    // already there (a `touch`, a failed copy) becomes the database too, and owner-only like one made here.
    closeSync(openSync(path, "a", 0o600));
    if (statSync(path).size === 0) chmodSync(path, 0o600);
    client = new Database(path, { create: true, strict: true });
    client.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Up to 32 MB of page cache and 128 MB of memory-mapped reads: the 1000-row admin list at 100k users
    // went from 4.8 ms to about 1.5 ms (bench/results/scaling.md); small databases do not notice.
    client.run("PRAGMA cache_size = -32000");
    client.run("PRAGMA mmap_size = 134217728");
    client.run("PRAGMA foreign_keys = ON");
  } catch (error) {
    throw new DatabaseOpenError(`cannot open database ${path}: ${(error as Error).message}`);
  }
  let outcome: MigrationOutcome;
  try {
    // Before WAL is switched on: that PRAGMA writes the file's header, and a file moxie refuses, or fails to
    // migrate, must stay byte for byte as it was.
    outcome = migrateClient(client, path);
    client.run("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL syncs at checkpoints, not at each commit: a process crash (kill -9) loses nothing
    // committed; an OS crash or power cut may lose the last commits. FULL was 16x slower per write here.
    client.run("PRAGMA synchronous = NORMAL");
  } catch (error) {
    client.close();
    throw error;
  }
  options.onMigrated?.(outcome);
  return drizzle({ client, schema }) as Db;
}

/** moxie's queries on a connection opened elsewhere, as it is (a reading command's: see openAsItIs in src/cli/bootstrap.ts). */
export function databaseOn(client: Database): Db {
  return drizzle({ client, schema }) as Db;
}

/** Applies the embedded migrations not yet recorded (adopting an original-era file); a no-op when current. */
export function applyMigrations(db: Db): string[] {
  return migrateClient(db.$client, db.$client.filename).applied;
}
