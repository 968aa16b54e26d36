// What a database file is (moxie's, the Python original's, empty, or something else) and how to bring it to this
// moxie's schema: one plan, read without writing, and one transaction that carries it out or changes nothing.
// The original (roxie-moxie/moxie-buildings) kept its schema with alembic; its users table is what moxie's 0000
// creates, so adopting it means recording 0000 as applied (the baseline) and applying the rest on top.
import type { Database } from "bun:sqlite";
import { ensureGeneration, hasGeneration } from "./generation.ts";
import { EMBEDDED_MIGRATIONS, type EmbeddedMigration } from "./migrations.ts";

/** drizzle's bookkeeping table; drizzle-kit reads the same one. */
export const MIGRATIONS_TABLE = "__drizzle_migrations";

/** The alembic revisions of the Python original, oldest first; the last one created its users table. */
export const ORIGINAL_REVISIONS = ["50fb02b298b3", "3522f8b6e283", "b89cce9ed1af"] as const;
/** The original's users migration (alembic/versions/b89cce9ed1af_add_users_table.py) and the revision it follows. */
export const ORIGINAL_USERS_REVISION = "b89cce9ed1af";
export const BEFORE_USERS_REVISION = "3522f8b6e283";
/**
 * The original's own tables. moxie writes none of them, with one exception: where it creates the users table in
 * a file at BEFORE_USERS_REVISION, it records ORIGINAL_USERS_REVISION in alembic_version (see planMigrations).
 */
export const ORIGINAL_TABLES = ["buildings", "units", "scrape_runs", "alembic_version"] as const;
/** The users columns the original created and moxie's 0000 creates alike. */
const BASELINE_USER_COLUMNS = ["id", "name", "email", "password_hash", "role", "is_active", "created_at"];
const BASELINE = EMBEDDED_MIGRATIONS[0]!;
/** The migration that creates the database_generation table (src/db/generation.ts). */
const GENERATION_MIGRATION = "0005_database_generation";

export type DatabaseKind =
  /** No tables yet: every migration is applied. */
  | { kind: "empty" }
  /** moxie's own: __drizzle_migrations says what is applied. */
  | { kind: "moxie" }
  /** Left by the Python original; `hasUsers` is false before its users migration. */
  | { kind: "original"; revision: string | null; hasUsers: boolean }
  /** Anything else; `found` says what, for a sentence. */
  | { kind: "unknown"; found: string };

export interface MigrationPlan {
  database: DatabaseKind;
  /** Recorded as applied without being run: the original's users table is 0000's. */
  baseline: EmbeddedMigration[];
  /** Run, in order. */
  pending: EmbeddedMigration[];
  /**
   * alembic_version rewritten from → to, in the same transaction: moxie's 0000 creating the users table in a file
   * at the revision just before the original's users migration does what that migration does (the same columns,
   * key, uniqueness and defaults), so the original's own `alembic upgrade head` must not run it again.
   */
  stamp?: { from: string; to: string };
}

export interface MigrationOutcome {
  adopted: boolean;
  baseline: string[];
  applied: string[];
  /** For an adopted file: its alembic revision before and after (they differ only when stamped). */
  alembic?: { before: string | null; after: string | null };
}

/** A file moxie will not touch: neither its own nor the original's. Nothing was written. */
export class UnknownDatabaseError extends Error {
  override name = "UnknownDatabaseError";
}

/** A migration SQLite refused; the transaction was rolled back, so the file is as it was. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

function tableNames(client: Database): string[] {
  return (client.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>).map(
    (row) => row.name,
  );
}

/** The columns `table` has, in order. */
export function columnNames(client: Database, table: string): string[] {
  return (client.query("SELECT name FROM pragma_table_info(?)").all(table) as Array<{ name: string }>).map((row) => row.name);
}

function recordedTimes(client: Database): Set<number> {
  const rows = client.query(`SELECT created_at FROM ${MIGRATIONS_TABLE}`).all() as Array<{ created_at: number | string }>;
  return new Set(rows.map((row) => Number(row.created_at)));
}

/** Reads what the file is; writes nothing. */
export function classifyDatabase(client: Database): DatabaseKind {
  const tables = tableNames(client);
  // An empty bookkeeping table is what a moxie before 0.2 left on a file it failed to migrate: it records nothing.
  const recordsMigrations = tables.includes(MIGRATIONS_TABLE) && recordedTimes(client).size > 0;
  if (recordsMigrations) return { kind: "moxie" };
  const others = tables.filter((name) => name !== MIGRATIONS_TABLE);
  if (others.length === 0) return { kind: "empty" };

  const shown = others.length > 8 ? `${others.slice(0, 8).join(", ")} and ${others.length - 8} more` : others.join(", ");
  if (!others.includes("alembic_version")) {
    return { kind: "unknown", found: `it has the table${others.length === 1 ? "" : "s"} ${shown}, and neither moxie's ${MIGRATIONS_TABLE} nor the Python moxie's alembic_version` };
  }
  const revisions = (client.query("SELECT version_num FROM alembic_version").all() as Array<{ version_num: string }>).map((row) => row.version_num);
  const revision = revisions.length === 1 ? revisions[0]! : null;
  const knownRevision = revision !== null && (ORIGINAL_REVISIONS as readonly string[]).includes(revision);
  const revisionText = revision === null ? `${revisions.length} alembic revisions` : `alembic revision ${revision}`;

  if (others.includes("users")) {
    const missing = BASELINE_USER_COLUMNS.filter((column) => !columnNames(client, "users").includes(column));
    if (missing.length > 0) {
      return { kind: "unknown", found: `it has an alembic_version table (${revisionText}) but its users table lacks ${missing.join(", ")}, so it is not the Python moxie's` };
    }
    return { kind: "original", revision, hasUsers: true };
  }
  if (!knownRevision) {
    return { kind: "unknown", found: `it has an alembic_version table (${revisionText}, not one of the Python moxie's) and no users table` };
  }
  return { kind: "original", revision, hasUsers: false };
}

/** What bringing the file up to date would do; reads only. */
export function planMigrations(client: Database): MigrationPlan {
  const database = classifyDatabase(client);
  switch (database.kind) {
    case "empty":
      return { database, baseline: [], pending: EMBEDDED_MIGRATIONS };
    case "moxie": {
      const applied = recordedTimes(client);
      return { database, baseline: [], pending: EMBEDDED_MIGRATIONS.filter((m) => !applied.has(m.folderMillis)) };
    }
    case "original":
      if (database.hasUsers) return { database, baseline: [BASELINE], pending: EMBEDDED_MIGRATIONS.slice(1) };
      // Only from the users migration's own starting point: from an earlier revision, stamping would also skip
      // the migrations in between (3522f8b6e283 adds a column to buildings, which moxie never touches).
      return database.revision === BEFORE_USERS_REVISION
        ? { database, baseline: [], pending: EMBEDDED_MIGRATIONS, stamp: { from: BEFORE_USERS_REVISION, to: ORIGINAL_USERS_REVISION } }
        : { database, baseline: [], pending: EMBEDDED_MIGRATIONS };
    case "unknown":
      return { database, baseline: [], pending: [] };
  }
}

/** "X is neither a moxie database nor one the Python moxie left: it has …"; callers say what they did not do. */
export function refusalMessage(path: string, database: Extract<DatabaseKind, { kind: "unknown" }>): string {
  return `${path} is neither a moxie database nor one the Python moxie left: ${database.found}`;
}

/**
 * Brings the file to this moxie's schema in one transaction: the bookkeeping table, the baseline, every pending
 * migration, or none of them. `dryRun` rolls back at the end (doctor's "would it work?").
 * Throws UnknownDatabaseError for a file that is neither moxie's nor the original's, MigrationError when SQLite
 * refuses a statement; in both cases the file is as it was.
 */
export function migrateClient(client: Database, path: string, options: { dryRun?: boolean } = {}): MigrationOutcome {
  const first = planMigrations(client);
  if (first.database.kind === "unknown") throw new UnknownDatabaseError(`${refusalMessage(path, first.database)}; moxie wrote nothing to it`);
  const none: MigrationOutcome = { adopted: false, baseline: [], applied: [] };
  if (first.baseline.length === 0 && first.pending.length === 0 && hasGeneration(client)) return none;

  // Planned again under the write lock: another process may have migrated the file since the read above.
  try {
    client.run("BEGIN IMMEDIATE");
  } catch (error) {
    if (isBusy(error)) throw error; // another writer held on past the busy timeout: the CLI says "busy"
    throw new MigrationError(`cannot migrate ${path}: ${sqliteReason(error)}; nothing was changed`);
  }
  let current: EmbeddedMigration | undefined;
  try {
    const plan = planMigrations(client);
    if (plan.database.kind === "unknown") throw new UnknownDatabaseError(`${refusalMessage(path, plan.database)}; moxie wrote nothing to it`);
    // drizzle's own DDL for the table, so drizzle-kit and older moxies read it as theirs.
    client.run(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (\n\t\t\t\tid SERIAL PRIMARY KEY,\n\t\t\t\thash text NOT NULL,\n\t\t\t\tcreated_at numeric\n\t\t\t)`);
    const record = client.query(`INSERT INTO ${MIGRATIONS_TABLE} ("hash", "created_at") VALUES (?, ?)`);
    for (const migration of plan.baseline) record.run(migration.hash, migration.folderMillis);
    for (const migration of plan.pending) {
      current = migration;
      for (const statement of migration.statements) if (statement.trim() !== "") client.run(statement);
      record.run(migration.hash, migration.folderMillis);
    }
    current = undefined;
    if (plan.stamp) {
      const stamped = client.query("UPDATE alembic_version SET version_num = ? WHERE version_num = ?").run(plan.stamp.to, plan.stamp.from);
      if (stamped.changes !== 1) throw new Error(`alembic_version is no longer ${plan.stamp.from}`);
    }
    // In the same transaction as the table: a database never exists without its generation.
    ensureGeneration(client, { tableIsNew: plan.pending.some((m) => m.tag === GENERATION_MIGRATION) });
    client.run(options.dryRun ? "ROLLBACK" : "COMMIT");
    const outcome: MigrationOutcome = {
      adopted: plan.database.kind === "original",
      baseline: plan.baseline.map((m) => m.tag),
      applied: plan.pending.map((m) => m.tag),
    };
    if (plan.database.kind === "original") {
      outcome.alembic = { before: plan.database.revision, after: plan.stamp?.to ?? plan.database.revision };
    }
    return outcome;
  } catch (error) {
    if (client.inTransaction) client.run("ROLLBACK");
    if (error instanceof UnknownDatabaseError || isBusy(error)) throw error;
    const step = current ? `migration ${current.tag}` : "migrating";
    throw new MigrationError(`${step} failed on ${path}: ${sqliteReason(error)}; nothing was changed`);
  }
}

function isBusy(error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code ?? "").startsWith("SQLITE_BUSY");
}

/** SQLite's own words, on one line. */
export function sqliteReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, " ").trim();
}
