// `moxie migrate [--status]`: applies the migrations this binary carries that the database lacks (adopting the
// Python original's file), or lists them and changes nothing.
import { plannedEmailRewrites, type EmailRewrite } from "../../accounts/stored-emails.ts";
import { refusalMessage, ORIGINAL_USERS_REVISION } from "../../db/adopt.ts";
import { EMBEDDED_MIGRATIONS } from "../../db/migrations.ts";
import { bootstrap, type Running } from "../bootstrap.ts";
import { print as printLine, type Command } from "../command.ts";
import {
  assertSchemaNotNewer,
  databaseFileState,
  hasTable,
  newerSchemaMessage,
  noDatabaseError,
  openForReading,
  plural,
  schemaState,
  settingsFor,
  type SchemaState,
  type Where,
} from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { describeEmails, describeOutcome, describeRevision, untouched, wayBackNote } from "../migration-report.ts";

type Print = (line: string) => void;

export const migrateCommand: Command = {
  usage: "moxie migrate [--status]\n\n" +
    "Applies the migrations this moxie carries that the database lacks and prints each one.\n" +
    "--status lists every migration as applied or pending and changes nothing.\n" +
    "A missing database is refused, not created (serve and create-admin create one);\n" +
    "so is a database written by a newer moxie (exit 1).",
  options: { status: { type: "boolean" } },
  async run(context) {
    const bootstrapped = () => bootstrap(context, { create: false, announce: false });
    await migrate({ where: context.where, status: context.values.status === true, bootstrap: bootstrapped }, printLine);
  },
};

async function migrate(
  options: { where: Where; status: boolean; bootstrap: () => Running },
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
