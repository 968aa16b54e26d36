// The checked copy every backup is (VACUUM INTO from a connection of its own, synced, opened on its own and checked),
// its default name, and the file chores around it; shared by backup, restore and the off-host commands.
import type { Database } from "bun:sqlite";
import { closeSync, existsSync, fsyncSync, openSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileTimestamp, integrityProblems, openExisting } from "../dbfile.ts";

/** `moxie-backup-20261125T153000Z.db`. */
export function defaultBackupName(date = new Date()): string {
  return `moxie-backup-${fileTimestamp(date)}.db`;
}

/** The default name in `dir`; a second backup in the same second gets `-2`, `-3`… rather than a refusal. */
export function defaultBackupPath(dir: string, date = new Date()): string {
  const stem = join(dir, defaultBackupName(date).slice(0, -".db".length));
  let path = `${stem}.db`;
  for (let n = 2; existsSync(path); n++) path = `${stem}-${n}.db`;
  return path;
}

/**
 * The copy itself, into `target` (an empty file already reserved, owner-only): VACUUM INTO from a connection of
 * its own, synced, then opened on its own and checked. Also what `moxie backup s3://…` uploads. Throws as is;
 * the caller removes `target`.
 */
export function writeCheckedCopy(databasePath: string, target: string): void {
  const source = openExisting(databasePath);
  try {
    source.query("VACUUM INTO ?").run(target);
  } finally {
    source.close();
  }
  syncFile(target);
  checkCopy(target);
}

/** Opens the copy on its own and requires `integrity_check` to say ok and the users table to be readable. */
export function checkCopy(path: string): void {
  const copy: Database = openExisting(path);
  try {
    const problems = integrityProblems(copy);
    if (problems.length > 0) throw new Error(`the copy fails the integrity check: ${problems.slice(0, 3).join("; ")}`);
  } finally {
    copy.close();
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function syncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every filesystem lets a directory be fsynced; the rename itself has happened.
  }
}

export function removeFileSet(path: string): void {
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
