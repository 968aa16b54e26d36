// Whether the database can take requests: the file opened at start is still there, current and writable, its write
// lock can be had, and its disk has room. /ready (src/http/routes/health.ts) says the answer; nothing here knows HTTP.
import { accessSync, constants, statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Db } from "../db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../db/migrations.ts";
import { retryWhileLocked } from "../db/write.ts";

/** How long the readiness write probe waits for another writer's lock. */
const READY_LOCK_WAIT_MS = 200;

/**
 * Below this much free space on the database's filesystem, /ready says the disk is full. A change and its audit
 * event append a handful of 4 KB pages to the WAL (each with a 24-byte header); with less than 16 such pages
 * left, the next write that has to grow a file fails. (A WAL already grown by earlier writes may still have
 * room to reuse for a while; the disk is full all the same, and an operator must free space.)
 */
export const READY_MIN_FREE_BYTES = 64 * 1024;

/** Why the database is not ready for traffic, in words fit for any caller (no paths, no SQL), or null. */
export async function databaseProblem(db: Db, path: string, opened: { dev: number; ino: number }): Promise<string | null> {
  try {
    const now = statSync(path);
    if (now.dev !== opened.dev || now.ino !== opened.ino) return "database file was moved or replaced";
  } catch {
    return "database file is missing";
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
  } catch {
    return "database is not writable";
  }
  const client = db.$client;
  try {
    client.query("SELECT 1").get();
    const applied = client.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    if (applied.n !== EMBEDDED_MIGRATIONS.length) return "database schema is not current";
  } catch {
    return "database cannot be read";
  }
  // Take and give back the write lock, waiting only briefly (and like every write, between attempts rather
  // than inside SQLite, so the wait holds up no other request): a long-held lock means writes would stall.
  try {
    await retryWhileLocked(
      client,
      () => {
        client.run("BEGIN IMMEDIATE");
        client.run("ROLLBACK");
      },
      READY_LOCK_WAIT_MS,
    );
  } catch {
    if (client.inTransaction) client.run("ROLLBACK");
    return "database is locked or read-only";
  }
  if (freeBytes(dirname(path)) < READY_MIN_FREE_BYTES) return "database disk is full";
  return null;
}

/**
 * Free space for this process on the filesystem holding `dir`, as the kernel counts it (statfs: one system call,
 * nothing written, so a probe every few seconds costs nothing). Root may also use the blocks a filesystem keeps
 * in reserve. Infinity when the filesystem cannot say.
 */
function freeBytes(dir: string): number {
  try {
    const fs = statfsSync(dir);
    return (process.geteuid?.() === 0 ? fs.bfree : fs.bavail) * fs.bsize;
  } catch {
    return Infinity;
  }
}

/**
 * The readiness check for the database `db` has open at `path`: remembers which file that is now, so a file moved
 * or replaced later is noticed, and answers databaseProblem's question at each call.
 */
export function readinessCheck(db: Db, path: string): () => Promise<string | null> {
  const opened = statSync(path);
  const identity = { dev: opened.dev, ino: opened.ino };
  return () => databaseProblem(db, path, identity);
}
