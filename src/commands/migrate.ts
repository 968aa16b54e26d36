// `moxie migrate [--status]`, and the downgrade guard `serve` runs before it opens (and migrates) the database.
import { existsSync } from "node:fs";
import type { Db } from "../db/index.ts";
import { EMBEDDED_MIGRATIONS } from "../db/migrations.ts";
import type { Settings } from "../settings.ts";
import { CommandError } from "./errors.ts";
import {
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
  options: { where: Where; status: boolean; bootstrap: () => { settings: Settings; db: Db } },
  print: Print,
): Promise<void> {
  const chosen = settingsFor(options.where);
  const { databasePath } = chosen.settings;
  if (options.status) return printStatus(databasePath, chosen.databaseChoice, print);
  // Migrating a file that is not there would create an empty database where the operator expected theirs.
  if (!existsSync(databasePath)) throw noDatabaseError(chosen);

  assertSchemaNotNewer(databasePath);
  const before = existsSync(databasePath) ? readSchemaState(databasePath) : undefined;
  const { db } = options.bootstrap();
  let after: SchemaState;
  try {
    after = schemaState(db.$client);
  } finally {
    db.$client.close();
  }
  const wasApplied = new Set(before?.applied.map((m) => m.tag) ?? []);
  for (const migration of after.applied) {
    if (!wasApplied.has(migration.tag)) print(`Applied ${migration.tag}`);
  }
  print(`Database is up to date (${plural(after.applied.length, "migration")})`);
}

function printStatus(databasePath: string, choice: string, print: Print): void {
  if (!existsSync(databasePath)) {
    print(`Database ${databasePath} does not exist yet (${choice})`);
    for (const migration of EMBEDDED_MIGRATIONS) print(`  pending  ${migration.tag}`);
    print(
      `0 of ${EMBEDDED_MIGRATIONS.length} migrations applied; \`moxie serve\` or \`moxie create-admin\` creates it ` +
        "(or point moxie at an existing one with --env-file or DATABASE_URL)",
    );
    return;
  }
  const client = openExisting(databasePath);
  let state: SchemaState;
  try {
    state = schemaState(client);
  } finally {
    client.close();
  }
  const mismatched = new Set(state.mismatched.map((entry) => entry.migration.tag));
  print(`Database ${databasePath}`);
  for (const migration of EMBEDDED_MIGRATIONS) {
    const applied = state.applied.includes(migration);
    const note = mismatched.has(migration.tag) ? "  (recorded with a different hash than this build's)" : "";
    print(`  ${applied ? "applied" : "pending"}  ${migration.tag}${note}`);
  }
  for (const row of state.unknown) {
    print(`  unknown  a migration from ${new Date(row.createdAt).toISOString()} (hash ${row.hash.slice(0, 12)}…)`);
  }
  if (state.unknown.length > 0) throw new CommandError(newerSchemaMessage(databasePath, state));
  const pending = state.pending.length;
  print(
    `${state.applied.length} of ${EMBEDDED_MIGRATIONS.length} migrations applied` +
      (pending === 0 ? "; up to date" : `; ${pending} pending: run \`moxie migrate\` (the server also applies them at start)`),
  );
}
