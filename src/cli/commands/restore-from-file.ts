// The restore itself, from a backup file: checks it, migrates a copy beside the database and gives the copy a new
// database generation, keeps the current file and swaps the copy in, holding the server's lock. `moxie restore FILE`
// and the off-host restore (after its download and checksum) both end here.
import { chownSync, closeSync, existsSync, mkdirSync, openSync, realpathSync, renameSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { refreshSearchKeys } from "../../accounts/search.ts";
import { endSessionsForRestore } from "../../accounts/sessions.ts";
import { normalizeStoredEmails, type EmailRewrite } from "../../accounts/stored-emails.ts";
import { MigrationError, refusalMessage, type MigrationOutcome } from "../../db/adopt.ts";
import { beginRestoredGeneration } from "../../db/generation.ts";
import { openDatabase } from "../../db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../../db/migrations.ts";
import { acquireServeLock, pidNote, serveLockHolder, type ServeLockHolder } from "../../db/serve-lock.ts";
import {
  fileTimestamp,
  hasSqliteHeader,
  hasTable,
  integrityProblems,
  isEmbeddedPrefix,
  newerSchemaMessage,
  openExisting,
  plural,
  schemaState,
  settingsFor,
  type Where,
} from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { describeOutcome } from "../migration-report.ts";
import { checkCopy, describe, removeFileSet, syncDirectory, syncFile } from "./copies.ts";


type Print = (line: string) => void;

export async function restoreFrom(options: { where: Where; source: string }, print: Print): Promise<void> {
  const chosen = settingsFor(options.where);
  const { databasePath } = chosen.settings;
  if (options.source === "") throw new UsageError("PATH is empty; name the backup file to restore");
  const source = resolve(options.where.cwd, options.source);
  // A FILE that is missing, a directory, or the database itself is bad input (exit 2), as for backup's PATH.
  if (!existsSync(source)) throw new UsageError(`${source} does not exist; nothing was restored`);
  if (!statSync(source).isFile()) throw new UsageError(`${source} is not a file; name a backup file`);
  if (existsSync(databasePath) && realpathSync(source) === realpathSync(databasePath)) {
    throw new UsageError(`${source} is the database itself; name a backup file`);
  }
  // A file that is no SQLite database at all (a wrong name, a half-finished download) is bad input too; one that
  // is SQLite but damaged is checked below and refused with exit 1.
  if (statSync(source).size === 0) throw new UsageError(`${source} is an empty file (0 bytes), not a backup; nothing was restored`);
  if (hasSqliteHeader(source) === false) throw new UsageError(`${source} is not a SQLite database (no SQLite header), so not a moxie backup; nothing was restored`);

  const stopFirst = (holder: ServeLockHolder) =>
    `a moxie server${pidNote(holder)} is using ${databasePath}; stop the server first (systemctl stop moxie, or Ctrl-C)`;
  const holder = serveLockHolder(databasePath);
  if (holder !== null) throw new CommandError(stopFirst(holder));
  // Hold the server's lock while the file is swapped, so a server starting meanwhile refuses to.
  let release: () => void;
  try {
    release = acquireServeLock(databasePath);
  } catch (error) {
    const holder = serveLockHolder(databasePath);
    throw holder !== null ? new CommandError(stopFirst(holder)) : error;
  }

  const stamp = fileTimestamp();
  const staging = `${databasePath}.restoring-${stamp}-${process.pid}`;
  let keptAs: string | undefined;
  let users: number;
  let prepared: PreparedCopy;
  try {
    // 1. The backup must be sound, and a moxie database this version can run (the same or an older schema) or
    //    one the Python original left.
    const backup = openExisting(source);
    try {
      const problems = integrityProblems(backup);
      if (problems.length > 0) throw new CommandError(`${source} fails the integrity check: ${problems[0]}`);
      const state = schemaState(backup);
      // Another application's database, or one with no tables: the wrong file named, so bad input (exit 2).
      if (state.database.kind === "unknown") throw new UsageError(`${refusalMessage(source, state.database)}; nothing was restored`);
      if (state.database.kind === "empty") throw new UsageError(`${source} is an empty database (no tables); nothing was restored`);
      if (state.unknown.length > 0) throw new CommandError(`refusing ${source}: ${newerSchemaMessage(source, state)}`);
      if (state.database.kind === "moxie" && !isEmbeddedPrefix(state)) {
        throw new CommandError(`${source} records migrations that do not match this moxie's; it cannot be restored by this version`);
      }
      users = hasTable(backup, "users") ? (backup.query("SELECT count(*) AS n FROM users").get() as { n: number }).n : 0;

      // 2. Copy it beside the database (same filesystem, so the final rename is atomic), owner-only.
      mkdirSync(dirname(databasePath), { recursive: true, mode: 0o700 });
      closeSync(openSync(staging, "wx", 0o600));
      backup.query("VACUUM INTO ?").run(staging);
    } finally {
      backup.close();
    }
    // 3. Bring the copy to this version's schema (adopting an original-era backup) and give it a new database
    //    generation, before it is put in place: every token issued before the restore, here or on the machine
    //    the backup came from, stops working, whatever ids and token versions the backup brings back; and the
    //    generation of a file a server may have open never changes. A copy that cannot be migrated replaces nothing.
    prepared = prepareRestoredCopy(staging, source);
    syncFile(staging);
    checkCopy(staging);

    // Root restoring for a service user (instead of `sudo -u moxie`) must not leave the service a file it
    // cannot open: the copy gets the owner of the file it replaces, or of the directory it lands in.
    const owner = statSync(existsSync(databasePath) ? databasePath : dirname(databasePath));
    if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(staging, owner.uid, owner.gid);

    // 4. Keep the current database, with everything its WAL still held.
    if (existsSync(databasePath)) {
      checkpoint(databasePath);
      keptAs = unusedName(`${databasePath}.before-restore-${stamp}`);
      renameSync(databasePath, keptAs);
      for (const suffix of ["-wal", "-shm", "-journal"]) {
        if (existsSync(databasePath + suffix)) renameSync(databasePath + suffix, keptAs + suffix);
      }
    }

    // 5. Put the copy in place.
    renameSync(staging, databasePath);
    syncDirectory(dirname(databasePath));
  } catch (error) {
    removeFileSet(staging);
    if (keptAs && !existsSync(databasePath) && putBack(keptAs, databasePath)) keptAs = undefined;
    if (error instanceof CommandError || error instanceof UsageError) throw error;
    throw new CommandError(`restore failed: ${describe(error)}${keptAs ? ` (the previous database is at ${keptAs})` : ""}`);
  } finally {
    release();
  }

  print(`Restored ${databasePath} from ${source} (${plural(users, "user")})`);
  // On a new machine the path is the operator's first sight of where the service must look: say who chose it.
  print(keptAs ? `Previous database kept as ${keptAs}` : `There was no previous database; wrote a new one at ${databasePath} (${chosen.databaseChoice})`);
  for (const line of describeOutcome(prepared.migration, prepared.emails)) print(line);
  print(`Database is up to date (${plural(EMBEDDED_MIGRATIONS.length, "migration")})`);
  print(`Signed everyone out (${plural(users, "account")}): tokens issued before the restore no longer work; sign in again`);
  if (prepared.sessionsEnded > 0) print(`Ended ${plural(prepared.sessionsEnded, "session")} the backup held (recorded in the audit trail)`);
}

/** What preparing a restored copy did: the migrations it applied and the stored emails it brought to one spelling. */
interface PreparedCopy {
  migration: MigrationOutcome;
  emails: EmailRewrite[];
  /** Live sessions the backup held, ended (and recorded) in the copy. */
  sessionsEnded: number;
}

/**
 * Migrates the staging copy (one transaction, as at any start), brings its stored emails to one spelling, ends
 * every session it holds, and begins its new generation. A migration SQLite refuses is a CommandError naming the backup, and nothing has
 * been replaced.
 */
function prepareRestoredCopy(staging: string, source: string): PreparedCopy {
  let migration: MigrationOutcome = { adopted: false, baseline: [], applied: [] };
  let db;
  try {
    db = openDatabase(staging, { onMigrated: (outcome) => (migration = outcome) });
  } catch (error) {
    if (error instanceof MigrationError) {
      throw new CommandError(`${error.message.replaceAll(staging, source)}; nothing was restored`);
    }
    throw error;
  }
  try {
    const emails = normalizeStoredEmails(db);
    refreshSearchKeys(db);
    const sessionsEnded = endSessionsForRestore(db);
    beginRestoredGeneration(db.$client);
    // Out of WAL mode (the WAL folded into the file): the copy alone is the whole database when it is renamed
    // into place, and checking it leaves no -wal behind. The server switches WAL on again when it opens it.
    db.$client.run("PRAGMA journal_mode = DELETE");
    return { migration, emails, sessionsEnded };
  } finally {
    db.$client.close();
  }
}

/** Moves everything in the WAL into the main file, so renaming the main file loses nothing. */
function checkpoint(path: string): void {
  const client = openExisting(path);
  try {
    client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    client.close();
  }
}

/** Undoes step 3 when the copy could not be put in place. */
function putBack(keptAs: string, databasePath: string): boolean {
  try {
    renameSync(keptAs, databasePath);
    for (const suffix of ["-wal", "-shm", "-journal"]) {
      if (existsSync(keptAs + suffix)) renameSync(keptAs + suffix, databasePath + suffix);
    }
    return true;
  } catch {
    return false; // the error message names keptAs; the operator can move it back by hand
  }
}

function unusedName(wanted: string): string {
  let name = wanted;
  for (let n = 2; existsSync(name); n++) name = `${wanted}-${n}`;
  return name;
}
