// `moxie migrate [--status]`, and the downgrade guard `serve` runs before it opens (and migrates) the database.
import { existsSync } from "node:fs";
import type { Db } from "../../db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../../db/migrations.ts";
import type { Settings } from "../../settings/index.ts";
import {
  BEFORE_USERS_REVISION,
  ORIGINAL_TABLES,
  ORIGINAL_USERS_REVISION,
  refusalMessage,
  type MigrationOutcome,
} from "../../db/adopt.ts";
import { plannedEmailRewrites, type EmailRewrite } from "../../accounts/stored-emails.ts";
import { CommandError, UsageError } from "../errors.ts";
import {
  databaseFileState,
  newerSchemaMessage,
  hasTable,
  noDatabaseError,
  openForReading,
  plural,
  schemaState,
  settingsFor,
  type SchemaState,
  type Where,
} from "../dbfile.ts";

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

export async function migrateCommand(
  options: { where: Where; status: boolean; bootstrap: () => { settings: Settings; db: Db; migration: MigrationOutcome; emails: EmailRewrite[] } },
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
  const { db, migration, emails } = options.bootstrap();
  let after: SchemaState;
  try {
    after = schemaState(db.$client);
  } finally {
    db.$client.close();
  }
  for (const line of describeOutcome(migration, emails)) print(line);
  print(`Database is up to date (${plural(after.applied.length, "migration")})`);
}

/**
 * What opening a database changed, one line each: the adoption first (with what became of the original's
 * alembic_version), then each migration applied, then each stored email rewritten to its one spelling.
 */
export function describeOutcome(outcome: MigrationOutcome, emails: EmailRewrite[] = []): string[] {
  const lines: string[] = [];
  if (outcome.adopted) {
    const created = outcome.baseline.length === 0;
    const what = created ? "its users table created" : `${outcome.baseline.join(", ")} recorded as applied (its users table kept, not recreated)`;
    const { before = null, after = null } = outcome.alembic ?? {};
    const stamped = before !== after;
    const alembic = stamped
      ? `; alembic_version moved from ${before} to ${after}, the original's migration that creates this users table, so its own \`alembic upgrade head\` does not create it again`
      : "";
    lines.push(`Adopted the Python moxie's database: ${what}${alembic}; ${untouched(stamped)} left untouched`);
    if (created && !stamped && after !== ORIGINAL_USERS_REVISION) lines.push(wayBackNote(after));
  }
  for (const tag of outcome.applied) lines.push(`Applied ${tag}`);
  lines.push(...describeEmails(emails, true));
  return lines;
}

/** The original's tables adoption leaves as they are: all of them, or all but the alembic_version it stamped. */
function untouched(stamped: boolean): string {
  return ORIGINAL_TABLES.filter((table) => !stamped || table !== "alembic_version").join(", ");
}

/**
 * A file older than the original's users migration's starting point: moxie cannot stamp it without skipping the
 * migrations in between (they change the original's own tables), so the way back needs one command more.
 */
function wayBackNote(revision: string | null): string {
  return (
    `Before the Python moxie runs on this file again, from its directory: \`uv run alembic upgrade ${BEFORE_USERS_REVISION} && ` +
    `uv run alembic stamp ${ORIGINAL_USERS_REVISION}\` (its alembic_version, ${revision ?? "unset"}, is from before its users migration, ` +
    "and moxie created that table)"
  );
}

/** "Rewrote 1 stored email to its one spelling …" (or what will be) and one line per account; nothing when none. */
function describeEmails(emails: EmailRewrite[], done: boolean): string[] {
  if (emails.length === 0) return [];
  const their = emails.length === 1 ? "its" : "their";
  return [
    `${done ? "Rewrote" : "`moxie migrate` (or the next start) will rewrite"} ${plural(emails.length, "stored email")} to ${their} one spelling (each recorded in the audit trail, reason email_normalized):`,
    ...emails.map(({ id, from, to }) => `  #${id} ${JSON.stringify(from)} → ${JSON.stringify(to)}`),
  ];
}

function printStatus(databasePath: string, print: Print): void {
  const client = openForReading(databasePath);
  let state: SchemaState;
  let emails: EmailRewrite[] = [];
  try {
    state = schemaState(client);
    if (state.database.kind !== "unknown" && hasTable(client, "users")) {
      emails = plannedEmailRewrites(client.query("SELECT id, email FROM users ORDER BY id").all() as Array<{ id: number; email: string }>);
    }
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
    const stamp = state.stamp;
    print(
      `0 of ${EMBEDDED_MIGRATIONS.length} migrations applied; \`moxie migrate\` (or the first start) adopts it in one transaction: ` +
        (state.baseline.length > 0 ? `records ${[...baseline].join(", ")} as applied, ` : "") +
        `applies ${plural(pending, "migration")}, ` +
        (stamp ? `moves alembic_version from ${stamp.from} to ${stamp.to} (the original's migration that creates the users table), ` : "") +
        `and leaves ${untouched(stamp !== undefined)} untouched`,
    );
    if (state.baseline.length === 0 && !stamp && database.revision !== ORIGINAL_USERS_REVISION) print(wayBackNote(database.revision));
  } else {
    print(
      `${state.applied.length} of ${EMBEDDED_MIGRATIONS.length} migrations applied` +
        (pending === 0 ? "; up to date" : `; ${pending} pending: run \`moxie migrate\` (the server also applies them at start)`),
    );
  }
  for (const line of describeEmails(emails, false)) print(line);
}

export function describeRevision(revision: string | null): string {
  return revision === null ? "no single alembic revision" : `alembic revision ${revision}`;
}
