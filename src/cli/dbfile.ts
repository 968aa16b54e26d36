// Looking at a database file without changing it: open an existing file without creating or migrating it,
// check its integrity, and compare its migration bookkeeping with the migrations this binary carries.
import { Database } from "bun:sqlite";
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { BUSY_TIMEOUT_MS } from "../db/index.ts";
import { EMBEDDED_MIGRATIONS, type EmbeddedMigration } from "../db/migrations.ts";
import { MIGRATIONS_TABLE, planMigrations, type DatabaseKind, type MigrationPlan } from "../db/adopt.ts";
import { databaseChoice, loadSettingsWithOrigin, SettingsError, type Settings, type SettingsOrigin } from "../settings/index.ts";
import { CommandError, UsageError } from "./errors.ts";

/** Where a command runs: its working directory and the settings file `--env-file` named, if any. */
export interface Where {
  cwd: string;
  envFile?: string;
}

/** The settings in effect, and which setting chose the database (for messages that name the file). */
export interface Chosen {
  settings: Settings;
  origin: SettingsOrigin;
  /** "DATABASE_URL in /etc/moxie/moxie.env", "DATABASE_URL is not set …, so the default … in /srv". */
  databaseChoice: string;
}

/**
 * The settings in effect for `where`, reported the way bootstrap reports them, without opening the database.
 * `listening`: only `serve` is stopped by a bad HOST or PORT.
 */
export function settingsFor(where: Where, listening = false): Chosen {
  try {
    const { settings, origin } = loadSettingsWithOrigin(where.cwd, process.env, { envFile: where.envFile, listening });
    return { settings, origin, databaseChoice: databaseChoice(origin, where.cwd) };
  } catch (error) {
    if (error instanceof SettingsError) throw new UsageError(`invalid settings: ${error.message}`);
    throw error;
  }
}

/**
 * Commands that read or change accounts never create a database: in the wrong directory they would show an
 * empty one (or back it up) as if it were the real thing. Says where it looked, why there, and how to point
 * elsewhere.
 */
export function noDatabaseError(chosen: Chosen, state: "missing" | "empty" = "missing"): CommandError {
  const what =
    state === "empty"
      ? `${chosen.settings.databasePath} is an empty file (0 bytes), not a database (${chosen.databaseChoice}); nothing was written. ` +
        "If it should hold your accounts, restore it from a backup (moxie restore FILE). "
      : `no database at ${chosen.settings.databasePath} (${chosen.databaseChoice}); nothing was created. `;
  return new CommandError(
    what +
      "Point moxie at yours with --env-file FILE (a server's settings, e.g. --env-file /etc/moxie/moxie.env), " +
      "DATABASE_URL=sqlite:////path/to/moxie.db, or by running it in the directory that holds moxie.db; " +
      "`moxie serve` and `moxie create-admin` create a new one",
  );
}

/**
 * What is at a database path: nothing, an empty file (a failed copy, a `touch`: SQLite would quietly make it a
 * new empty database), or a file with content (or a write-ahead log that holds some).
 */
export function databaseFileState(path: string): "missing" | "empty" | "present" {
  if (!existsSync(path)) return "missing";
  if (statSync(path).size > 0) return "present";
  return existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0 ? "present" : "empty";
}

/**
 * Opens an existing database file as it is: never creates it, never migrates it, never changes a row.
 * Read-write when allowed, so closing the last connection removes the -wal/-shm a read-only open would
 * leave behind; read-only otherwise (a backup on read-only media, a file owned by someone else).
 */
export function openExisting(path: string): Database {
  if (!existsSync(path)) throw new CommandError(`${path} does not exist`);
  if (!statSync(path).isFile()) throw new CommandError(`${path} is not a file`);
  let client: Database;
  try {
    client = new Database(path, { readwrite: true, create: false, strict: true });
  } catch {
    try {
      client = new Database(path, { readonly: true, strict: true });
    } catch (error) {
      // SQLite says "unable to open database file" for a file this user may not read: say which it is.
      const reason = readable(path)
        ? (error as Error).message
        : `permission denied: this user (uid ${process.getuid?.() ?? "?"}) cannot read it; give it to the user moxie runs as (chown) or run as that user`;
      throw new CommandError(`cannot open ${path}: ${reason}`);
    }
  }
  // SQLite opens a write-protected file read-only without a word (a backup owned by someone else, read-only
  // media, an immutable file); the integrity check must know (see integrityProblems).
  if (!writable(path)) readOnlyConnections.add(client);
  try {
    client.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Reading the schema fails at once on a file that is not SQLite, before any caller relies on it.
    client.query("SELECT count(*) FROM sqlite_master").get();
  } catch (error) {
    client.close();
    // A WAL-mode file (a live database copied with cp, not made by `moxie backup`) cannot be read without
    // creating its -shm beside it.
    const hint =
      isWalMode(path) && !writable(dirname(path))
        ? " (it is in WAL mode and SQLite must create a file beside it in a directory this user cannot write: copy it somewhere writable, or make backups with `moxie backup`)"
        : "";
    throw new CommandError(`cannot read ${path}: ${(error as Error).message}${hint}`);
  }
  return client;
}

/**
 * openExisting for a command that only reads (users, audit, doctor, migrate --status): SQLite refuses every
 * statement that would change the file (PRAGMA query_only), so nothing such a command calls can write to it.
 */
export function openForReading(path: string): Database {
  const client = openExisting(path);
  client.run("PRAGMA query_only = ON");
  return client;
}

/** Connections openExisting made to files this process cannot write: SQLite reads those read-only. */
const readOnlyConnections = new WeakSet<Database>();

/**
 * Whether the file starts with SQLite's header ("SQLite format 3" and a NUL): false for any other file this user
 * can read; undefined when it cannot be read (openExisting says why, permission denied included).
 */
export function hasSqliteHeader(path: string): boolean | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const header = new Uint8Array(16);
    return readSync(fd, header, 0, 16, 0) === 16 && Buffer.from(header).toString("latin1") === "SQLite format 3\0";
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The file header's read/write format versions are 2 in WAL mode (bytes 18 and 19). */
function isWalMode(path: string): boolean {
  try {
    const header = new Uint8Array(20);
    const fd = openSync(path, "r");
    try {
      readSync(fd, header, 0, 20, 0);
    } finally {
      closeSync(fd);
    }
    return header[18] === 2;
  } catch {
    return false;
  }
}

/** Whether this process may read (R_OK) or write (W_OK) `path`, as the kernel decides (modes, immutability). */
function allowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

const readable = (path: string) => allowed(path, constants.R_OK);
const writable = (path: string) => allowed(path, constants.W_OK);

/**
 * `PRAGMA integrity_check` (or the faster quick_check): [] when the file is sound, else SQLite's findings.
 * On a read-only connection SQLite skips CHECK constraints in both, so a file moxie cannot write (opened by
 * openExisting) is checked through a private, writable copy of it (VACUUM INTO copies every row as it is).
 */
export function integrityProblems(client: Database, quick = false): string[] {
  let rows: unknown[][];
  try {
    rows = client.query(`PRAGMA ${quick ? "quick_check" : "integrity_check"}`).values() as unknown[][];
  } catch (error) {
    // Damage bad enough that the check itself cannot run ("database disk image is malformed") is a finding too.
    return [(error as Error).message];
  }
  // One finding per line: SQLite may put several in one row, under a "*** in database main ***" heading.
  const findings = rows
    .flatMap((row) => String(row[0]).split("\n"))
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
  if (!(findings.length === 1 && findings[0] === "ok")) return findings;
  if (!readOnlyConnections.has(client)) return [];
  // The structure is sound; now the CHECK constraints, which a read-only connection skipped.
  return withPrivateCopy(client, (copy) => integrityProblems(copy, quick));
}

/**
 * `work` on a private, writable copy of the database `client` reads, removed afterwards: a check that must write
 * (a CHECK constraint a read-only connection skips, a migration tried and rolled back) without the file itself
 * ever being written or locked for writing. VACUUM INTO copies every row as it is and only reads its source.
 */
export function withPrivateCopy<T>(client: Database, work: (copy: Database) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "moxie-check-"));
  try {
    const copyPath = join(dir, "copy.db");
    // query_only refuses VACUUM INTO too, though it writes only the copy.
    const queryOnly = (client.query("PRAGMA query_only").get() as { query_only: number }).query_only === 1;
    if (queryOnly) client.run("PRAGMA query_only = OFF");
    try {
      client.query("VACUUM INTO ?").run(copyPath);
    } finally {
      if (queryOnly) client.run("PRAGMA query_only = ON");
    }
    const copy = new Database(copyPath, { readwrite: true, create: false, strict: true });
    try {
      return work(copy);
    } finally {
      copy.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hasTable(client: Database, name: string): boolean {
  return client.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== null;
}

export interface RecordedMigration {
  hash: string;
  /** drizzle's created_at: the journal `when` of the migration, in ms (not the time it was applied). */
  createdAt: number;
}

export interface SchemaState {
  /** moxie's, the Python original's (to be adopted), empty, or something moxie refuses. */
  database: DatabaseKind;
  /** For an original-era file: the migrations adoption records as applied without running them. */
  baseline: EmbeddedMigration[];
  /** For an original-era file without a users table: the alembic_version adoption records (MigrationPlan). */
  stamp?: MigrationPlan["stamp"];
  /** The rows of __drizzle_migrations, oldest first; [] when the table does not exist. */
  recorded: RecordedMigration[];
  /** Embedded migrations the file records, in journal order. */
  applied: EmbeddedMigration[];
  /** Embedded migrations the file does not record yet, in journal order. */
  pending: EmbeddedMigration[];
  /** Rows no embedded migration has the created_at of: a newer moxie wrote them. */
  unknown: RecordedMigration[];
  /** Rows with a known created_at but another hash: that migration's text differs from this build's. */
  mismatched: Array<{ migration: EmbeddedMigration; recorded: RecordedMigration }>;
}

export function schemaState(client: Database): SchemaState {
  const plan = planMigrations(client);
  const recorded = hasTable(client, MIGRATIONS_TABLE)
    ? (client.query(`SELECT hash, created_at FROM ${MIGRATIONS_TABLE} ORDER BY created_at, id`).all() as Array<{
        hash: string;
        created_at: number;
      }>).map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }))
    : [];
  const byTime = new Map(recorded.map((row) => [row.createdAt, row]));
  const known = new Set(EMBEDDED_MIGRATIONS.map((m) => m.folderMillis));
  const mismatched: SchemaState["mismatched"] = [];
  for (const migration of EMBEDDED_MIGRATIONS) {
    const row = byTime.get(migration.folderMillis);
    if (row && row.hash !== migration.hash) mismatched.push({ migration, recorded: row });
  }
  return {
    database: plan.database,
    // Adoption records these without running them; they are also in `pending`.
    baseline: plan.baseline,
    ...(plan.stamp ? { stamp: plan.stamp } : {}),
    recorded,
    applied: EMBEDDED_MIGRATIONS.filter((m) => byTime.has(m.folderMillis)),
    pending: EMBEDDED_MIGRATIONS.filter((m) => !byTime.has(m.folderMillis)),
    unknown: recorded.filter((row) => !known.has(row.createdAt)),
    mismatched,
  };
}

/** True when the file records exactly the first N embedded migrations, each with this build's hash. */
export function isEmbeddedPrefix(state: SchemaState): boolean {
  if (state.recorded.length > EMBEDDED_MIGRATIONS.length) return false;
  return state.recorded.every((row, index) => {
    const migration = EMBEDDED_MIGRATIONS[index];
    return migration !== undefined && migration.folderMillis === row.createdAt && migration.hash === row.hash;
  });
}

/** "…is newer than this moxie (…); upgrade moxie" for a file with migrations this binary does not know. */
export function newerSchemaMessage(what: string, state: SchemaState): string {
  const latest = Math.max(...state.unknown.map((row) => row.createdAt));
  const count = state.unknown.length;
  return (
    `database schema is newer than this moxie ${packageJson.version} (${what} records ${count} migration` +
    `${count === 1 ? "" : "s"} it does not know, the latest from ${new Date(latest).toISOString()}); ` +
    "upgrade moxie, or restore a backup taken with this version"
  );
}

/**
 * Throws CommandError when the database at `dbPath` records migrations this binary does not carry, i.e. a
 * newer moxie has written it and this one would run against a schema it does not understand.
 * Creates nothing: a missing file (or one SQLite cannot read, left for the open that follows to report) passes.
 */
export function assertSchemaNotNewer(dbPath: string): void {
  if (!existsSync(dbPath)) return;
  const state = readSchemaState(dbPath);
  if (state && state.unknown.length > 0) throw new CommandError(newerSchemaMessage(dbPath, state));
}

/** The file's schema state, or undefined when it cannot be read at all. */
function readSchemaState(dbPath: string): SchemaState | undefined {
  let client;
  try {
    client = openForReading(dbPath);
  } catch {
    return undefined;
  }
  try {
    return schemaState(client);
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** 24.0 KiB, 1.5 MiB; plain bytes below 1 KiB. */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** UTC, to the second, safe in a file name: 20261125T153000Z. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}
