// One bootstrap for every command that opens the database: settings → database → migrations (and stored emails
// brought to one spelling, search keys made), or the database as it is for the commands that only read.
import { statSync } from "node:fs";
import { refreshSearchKeys } from "../accounts/search.ts";
import { normalizeStoredEmails, type EmailRewrite } from "../accounts/stored-emails.ts";
import { MigrationError, refusalMessage, UnknownDatabaseError, type MigrationOutcome } from "../db/adopt.ts";
import { databaseOn, DatabaseOpenError, openDatabase, type Db } from "../db/index.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import type { Settings } from "../settings/index.ts";
import { print } from "./command.ts";
import { assertSchemaNotNewer, databaseFileState, noDatabaseError, openForReading, plural, schemaState, settingsFor, type Chosen, type Where } from "./dbfile.ts";
import { CommandError, UsageError } from "./errors.ts";
import { describeOutcome } from "./migration-report.ts";

export interface BootstrapOptions {
  /** Create (and migrate) the database when there is none; otherwise a missing file is refused, untouched. */
  create: boolean;
  /**
   * The command only reads (users, audit): the file is opened as it is and never migrated, adopted or rewritten; one
   * that needs a migration first is refused (exit 1) with what to run. Nothing it does can write (query_only).
   */
  readOnly?: boolean;
  /** Only `serve` validates HOST and PORT. */
  listening?: boolean;
  overrides?: Partial<Settings>;
  /**
   * Print on stdout what opening changed in an existing file (adoption, migrations, emails rewritten); default on.
   * Off for the commands that say it themselves: serve (in its log), migrate and restore.
   */
  announce?: boolean;
}

export interface Running {
  settings: Settings;
  db: Db;
  log: Logger;
  /** True when this call created the database file. */
  created: boolean;
  chosen: Chosen;
  /** What opening it did: adopted an original-era file, applied migrations. */
  migration: MigrationOutcome;
  /** Stored emails opening brought to their one spelling (each also in the audit trail). */
  emails: EmailRewrite[];
}

/**
 * Opens the database for the command `name` run in `where`. Without options: an existing database only (the safe
 * default for a command that reads or changes accounts).
 */
export function bootstrap(
  { where, name }: { where: Where; name: string },
  { create, readOnly = false, listening = false, overrides = {}, announce = true }: BootstrapOptions = { create: false },
): Running {
  const chosen = settingsFor(where, listening);
  const settings = { ...chosen.settings, ...overrides };
  const log = createLogger({ level: settings.logLevel, format: settings.logFormat });
  const state = databaseFileState(settings.databasePath);
  const existed = state === "present";
  if (!existed && !create) throw noDatabaseError(chosen, state === "empty" ? "empty" : "missing");
  // A database written by a newer moxie is refused before anything touches it.
  assertSchemaNotNewer(settings.databasePath);
  const none: MigrationOutcome = { adopted: false, baseline: [], applied: [] };
  if (readOnly) return { settings, db: openAsItIs(settings.databasePath, chosen, name), log, created: false, chosen, migration: none, emails: [] };
  let migration = none;
  try {
    const db = openDatabase(settings.databasePath, { onMigrated: (outcome) => (migration = outcome) });
    // Emails stored before the NFKC rules get their one spelling (collisions are left for `moxie doctor`).
    const emails = normalizeStoredEmails(db);
    // Rows without a current search key (all of them after the migration that adds it, then the ones the Python
    // original inserted since) get theirs; search finds them meanwhile too (src/accounts/search.ts).
    refreshSearchKeys(db);
    if (announce && existed) for (const line of describeOutcome(migration, emails)) print(line);
    return { settings, db, log, created: !existed, chosen, migration, emails };
  } catch (error) {
    if (error instanceof DatabaseOpenError || error instanceof UnknownDatabaseError) {
      throw new UsageError(`DATABASE_URL: ${error.message} (${chosen.databaseChoice})`);
    }
    if (error instanceof MigrationError) throw new CommandError(error.message);
    throw error;
  }
}

/**
 * The database as it is, for a command that only reads: an operator looking (possibly while the Python original
 * still serves from the file) must not adopt, migrate or rewrite it. A file whose schema is not this moxie's yet
 * is refused with what to run; that is not bad input, so exit 1.
 */
function openAsItIs(path: string, chosen: Chosen, command: string): Db {
  if (!statSync(path).isFile()) throw new UsageError(`DATABASE_URL: ${path} is not a database file but a directory or device (${chosen.databaseChoice})`);
  const client = openForReading(path);
  try {
    const state = schemaState(client);
    const database = state.database;
    if (database.kind === "unknown") {
      throw new UsageError(`DATABASE_URL: ${refusalMessage(path, database)}; moxie wrote nothing to it (${chosen.databaseChoice})`);
    }
    const only = `\`moxie ${command}\` only reads, so it changed nothing`;
    if (database.kind === "original") {
      throw new CommandError(
        `${path} is the Python moxie's database, not adopted yet: run \`moxie migrate\` (or \`moxie serve\`, which adopts it at start) first; ${only}`,
      );
    }
    if (state.pending.length > 0) {
      const pending = state.pending.map((m) => m.tag).join(", ");
      throw new CommandError(
        `${path} has ${plural(state.pending.length, "pending migration")} (${pending}): run \`moxie migrate\` ` +
          `(or \`moxie serve\`, which applies them at start) first; ${only}`,
      );
    }
  } catch (error) {
    client.close();
    throw error;
  }
  return databaseOn(client);
}
