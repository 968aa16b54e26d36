// `moxie migrate [--status]`, and the downgrade guard `serve` runs before it opens (and migrates) the database.
import { existsSync } from "node:fs";
import type { Db } from "../db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../db/migrations.ts";
import type { Settings } from "../settings.ts";
import { ORIGINAL_TABLES, refusalMessage, type MigrationOutcome } from "../db/adopt.ts";
import { CommandError, UsageError } from "./errors.ts";
import {
  databaseFileState,
  newerSchemaMessage,
  noDatabaseError,
  openExisting,
  plural,
  schemaState,
  settingsFor,
  type SchemaState,
  type Where,
} from "./dbfile.ts";

type Print = (line: string) => void;

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
    client = openExisting(dbPath);
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

export async function migrateCommand(
  options: { where: Where; status: boolean; bootstrap: () => { settings: Settings; db: Db; migration: MigrationOutcome } },
  print: Print,
): Promise<void> {
  const chosen = settingsFor(options.where);
  const { databasePath } = chosen.settings;
  // A file that is not there, or empty, is no database to report on or migrate: migrating it would create an
  // empty one where the operator expected theirs, and a status of it would hide a mistyped DATABASE_URL.
  const state = databaseFileState(databasePath);
  if (state !== "present") throw noDatabaseError(chosen, state);
  if (options.status) return printStatus(databasePath, print);

  assertSchemaNotNewer(databasePath);
  const { db, migration } = options.bootstrap();
  let after: SchemaState;
  try {
    after = schemaState(db.$client);
  } finally {
    db.$client.close();
  }
  for (const line of describeOutcome(migration)) print(line);
  print(`Database is up to date (${plural(after.applied.length, "migration")})`);
}

/** What a migration run did, one line each: the adoption first, then each migration applied. */
export function describeOutcome(outcome: MigrationOutcome): string[] {
  const lines: string[] = [];
  if (outcome.adopted) {
    const baseline = outcome.baseline.length > 0 ? `${outcome.baseline.join(", ")} recorded as applied (its users table kept, not recreated)` : "its users table created";
    lines.push(`Adopted the Python moxie's database: ${baseline}; ${ORIGINAL_TABLES.join(", ")} left untouched`);
  }
  for (const tag of outcome.applied) lines.push(`Applied ${tag}`);
  return lines;
}

function printStatus(databasePath: string, print: Print): void {
  const client = openExisting(databasePath);
  let state: SchemaState;
  try {
    state = schemaState(client);
  } finally {
    client.close();
  }
  const database = state.database;
  if (database.kind === "unknown") throw new UsageError(`DATABASE_URL: ${refusalMessage(databasePath, database)}; moxie cannot use it`);
  const mismatched = new Set(state.mismatched.map((entry) => entry.migration.tag));
  const baseline = new Set(state.baseline.map((m) => m.tag));
  print(database.kind === "original" ? `Database ${databasePath} (left by the Python moxie, ${describeRevision(database.revision)})` : `Database ${databasePath}`);
  for (const migration of EMBEDDED_MIGRATIONS) {
    const applied = state.applied.includes(migration);
    const note = mismatched.has(migration.tag) ? "  (recorded with a different hash than this build's)" : "";
    if (baseline.has(migration.tag)) print(`  adopt    ${migration.tag}  (the original's users table, kept, not recreated)`);
    else print(`  ${applied ? "applied" : "pending"}  ${migration.tag}${note}`);
  }
  for (const row of state.unknown) {
    print(`  unknown  a migration from ${new Date(row.createdAt).toISOString()} (hash ${row.hash.slice(0, 12)}…)`);
  }
  if (state.unknown.length > 0) throw new CommandError(newerSchemaMessage(databasePath, state));
  const pending = state.pending.length - state.baseline.length;
  if (database.kind === "original") {
    print(
      `0 of ${EMBEDDED_MIGRATIONS.length} migrations applied; \`moxie migrate\` (or the first start) adopts it in one transaction: ` +
        (state.baseline.length > 0 ? `records ${[...baseline].join(", ")} as applied, ` : "") +
        `applies ${plural(pending, "migration")}, and leaves ${ORIGINAL_TABLES.join(", ")} untouched`,
    );
    return;
  }
  print(
    `${state.applied.length} of ${EMBEDDED_MIGRATIONS.length} migrations applied` +
      (pending === 0 ? "; up to date" : `; ${pending} pending: run \`moxie migrate\` (the server also applies them at start)`),
  );
}

export function describeRevision(revision: string | null): string {
  return revision === null ? "no single alembic revision" : `alembic revision ${revision}`;
}
