// Opens the SQLite file with moxie's settings and brings its schema up to date from the embedded migrations.
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { EMBEDDED_MIGRATIONS } from "./migrations.ts";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };
/** The database or a transaction on it: what a query needs. */
export type Executor = BaseSQLiteDatabase<"sync", unknown, typeof schema>;

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;
const MIGRATIONS_TABLE = "__drizzle_migrations";

export class DatabaseOpenError extends Error {
  override name = "DatabaseOpenError";
}

/**
 * Opens (creating if needed) the database at `path` and applies pending migrations.
 * The directory and file are created owner-only: they hold password hashes.
 */
export function openDatabase(path: string): Db {
  let client: Database;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file ourselves so it starts 0600; SQLite gives -wal and -shm the same mode.
    closeSync(openSync(path, "a", 0o600));
    client = new Database(path, { create: true, strict: true });
    client.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    client.run("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL syncs at checkpoints, not at each commit: a process crash (kill -9) loses nothing
    // committed; an OS crash or power cut may lose the last commits. FULL was 16x slower per write here.
    client.run("PRAGMA synchronous = NORMAL");
    // Up to 32 MB of page cache and 128 MB of memory-mapped reads: the 1000-row admin list at 100k users
    // went from 4.8 ms to about 1.5 ms (bench/results/scaling.md); small databases do not notice.
    client.run("PRAGMA cache_size = -32000");
    client.run("PRAGMA mmap_size = 134217728");
    client.run("PRAGMA foreign_keys = ON");
  } catch (error) {
    throw new DatabaseOpenError(`cannot open database ${path}: ${(error as Error).message}`);
  }
  const db = drizzle({ client, schema }) as Db;
  applyMigrations(db);
  return db;
}

/** Applies the embedded migrations not yet recorded; a no-op when the schema is current. */
export function applyMigrations(db: Db): string[] {
  const applied = appliedMigrationTimes(db.$client);
  const pending = EMBEDDED_MIGRATIONS.filter((m) => !applied.has(m.folderMillis));
  if (pending.length === 0) return [];
  // drizzle's dialect migrator keeps the same bookkeeping table drizzle-kit reads; it runs in one transaction.
  const dialect = (db as unknown as { dialect: { migrate: Function } }).dialect;
  const session = (db as unknown as { session: unknown }).session;
  dialect.migrate(
    pending.map((m) => ({ sql: m.statements, bps: true, folderMillis: m.folderMillis, hash: m.hash })),
    session,
    { migrationsTable: MIGRATIONS_TABLE },
  );
  return pending.map((m) => m.tag);
}

function appliedMigrationTimes(client: Database): Set<number> {
  const exists = client
    .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(MIGRATIONS_TABLE);
  if (!exists) return new Set();
  const rows = client.query(`SELECT created_at FROM ${MIGRATIONS_TABLE}`).all() as { created_at: number }[];
  return new Set(rows.map((row) => Number(row.created_at)));
}
