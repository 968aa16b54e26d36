// What `moxie doctor` says about the database itself, opened as it is (never created or migrated): size, journal mode,
// schema (a pending migration tried on a private copy), integrity, accounts, stored dates and emails.
import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import packageJson from "../../../package.json" with { type: "json" };
import { plannedEmailRewrites } from "../../accounts/stored-emails.ts";
import { columnNames, migrateClient, refusalMessage, sqliteReason } from "../../db/adopt.ts";
import { readStoredDate, UNREADABLE_DATE } from "../../db/dates.ts";
import { EMBEDDED_MIGRATIONS } from "../../db/migrations.ts";
import { emailCollisions, isWellFormedEmail } from "../../emails/normalize.ts";
import { databaseFileState, hasTable, humanSize, integrityProblems, openForReading, plural, schemaState, withPrivateCopy } from "../dbfile.ts";
import { describeRevision } from "../migration-report.ts";
import { advice, modeOf, problem, type Finding } from "./doctor-checks.ts";

type Print = (line: string) => void;

/** Prints what the database holds and returns what is wrong with it. */
export function inspectDatabase(dbPath: string, print: Print): Finding[] {
  const findings: Finding[] = [];
  const size = statSync(dbPath).size;
  const walSize = modeOf(`${dbPath}-wal`) === undefined ? 0 : statSync(`${dbPath}-wal`).size;
  print(`  size          ${humanSize(size)}${walSize > 0 ? ` (+ ${humanSize(walSize)} in the WAL)` : ""}`);
  if (databaseFileState(dbPath) === "empty") {
    findings.push(problem(`${dbPath} is an empty file (0 bytes), not a database: restore a backup, or remove it to start anew`));
    return findings;
  }
  let client;
  try {
    client = openForReading(dbPath);
  } catch (error) {
    findings.push(problem(`cannot open the database: ${(error as Error).message}`));
    return findings;
  }
  try {
    const journal = (client.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    print(`  journal mode  ${journal}${journal === "wal" ? "" : " (becomes wal when the server starts)"}`);

    const state = schemaState(client);
    const database = state.database;
    const latest = state.applied.at(-1)?.tag ?? "none";
    let schema = `${state.applied.length}/${EMBEDDED_MIGRATIONS.length} migrations applied (latest ${latest})`;
    if (database.kind === "original") {
      schema = `left by the Python moxie (${describeRevision(database.revision)}); adopted at the next start or by \`moxie migrate\``;
    } else if (state.pending.length > 0 && state.unknown.length === 0) {
      schema += `; ${state.pending.length} pending, applied at the next start or by \`moxie migrate\``;
    }
    print(`  schema        ${schema}`);
    if (database.kind === "unknown") {
      findings.push(problem(`moxie cannot use this database: ${refusalMessage(dbPath, database)}; check DATABASE_URL`));
    } else if (state.pending.length > 0 && state.unknown.length === 0) {
      // Try the migration for real, on a private copy: "applied at the next start" must be a start that works, and
      // the file itself is neither written nor locked (the original may still be serving from it).
      try {
        withPrivateCopy(client, (copy) => migrateClient(copy, dbPath, { dryRun: true }));
      } catch (error) {
        findings.push(problem(`the database cannot be migrated, so the next start would fail: ${sqliteReason(error)}`));
      }
    }
    if (state.unknown.length > 0) {
      findings.push(
        problem(
          `the database records ${plural(state.unknown.length, "migration")} this moxie ${packageJson.version} does not know: ` +
            "a newer moxie wrote it; upgrade moxie (this version refuses to serve or migrate it)",
        ),
      );
    } else if (state.pending.length > 0 && database.kind !== "original") {
      // An original-era file is said on the schema line: it is adopted, not migrated from nothing.
      findings.push(
        advice(`${plural(state.pending.length, "migration")} pending (${state.pending.map((m) => m.tag).join(", ")}): the next \`moxie serve\` applies them, or \`moxie migrate\``),
      );
    }
    for (const { migration } of state.mismatched) {
      findings.push(problem(`migration ${migration.tag} was recorded with a different hash than this build's; this moxie cannot migrate it safely`));
    }

    const damage = integrityProblems(client, true);
    print(`  integrity     ${damage.length === 0 ? "ok (quick_check)" : damage[0]}`);
    if (damage.length > 0) findings.push(problem(`the database fails quick_check: ${damage[0]}; restore a backup`));

    const noAdmin = problem("there is no active admin: create one with `moxie create-admin --email EMAIL --name NAME`");
    if (hasTable(client, "users")) {
      const counts = client
        .query(
          "SELECT count(*) AS users, coalesce(sum(role = 'admin' AND is_active = 1), 0) AS admins, " +
            "coalesce(sum(is_active = 1), 0) AS active FROM users",
        )
        .get() as { users: number; admins: number; active: number };
      print(`  users         ${counts.users} (${counts.active} active, ${plural(counts.admins, "active admin")})`);
      const unreadable = unreadableDates(client);
      if (unreadable.length > 0) {
        findings.push(problem(
          `moxie cannot read ${plural(unreadable.length, "stored date")} of accounts (${unreadable.slice(0, 3).join("; ")}); ` +
            `they are shown as ${UNREADABLE_DATE}: correct them in the form 2026-11-30T05:53:04.000Z`,
        ));
      }
      if (counts.admins === 0) findings.push(noAdmin);
      // Accounts whose emails are one address spelled twice (look-alikes stored before normalization): never merged
      // automatically; an operator decides which one stays.
      const accounts = client.query("SELECT id, email FROM users ORDER BY id").all() as Array<{ id: number; email: string }>;
      for (const { normalized, ids } of emailCollisions(accounts)) {
        findings.push(problem(
          `accounts ${ids.map((id) => `#${id}`).join(", ")} have emails that are one address (${normalized}); ` +
            "change or deactivate all but one (moxie never merges accounts)",
        ));
      }
      // Stored before the rules (the Python original checked nothing): such an account still signs in as typed.
      for (const { id, email } of accounts.filter((account) => !isWellFormedEmail(account.email))) {
        findings.push(advice(`account #${id}'s email ${JSON.stringify(email)} is not an address; it signs in as stored, but give it a real one (the console, or PATCH /admin/users/${id})`));
      }
      const rewrites = plannedEmailRewrites(accounts);
      if (rewrites.length > 0) {
        findings.push(advice(
          `the next start or \`moxie migrate\` rewrites ${plural(rewrites.length, "stored email")} to ${rewrites.length === 1 ? "its" : "their"} one spelling ` +
            `(${rewrites.map(({ id, from, to }) => `#${id} ${JSON.stringify(from)} → ${JSON.stringify(to)}`).join("; ")}), each recorded in the audit trail`,
        ));
      }
    } else {
      print("  users         no users table yet");
      findings.push(noAdmin);
    }
  } catch (error) {
    findings.push(problem(`cannot read the database: ${(error as Error).message}`));
  } finally {
    client.close();
  }
  return findings;
}

/** "users #3 created_at '30/11/2026'" for each stored date of an account that toIsoUtc cannot read. */
function unreadableDates(client: Database): string[] {
  const present = columnNames(client, "users");
  const columns = ["created_at", "password_changed_at", "last_login_at"].filter((column) => present.includes(column));
  const found: string[] = [];
  for (const row of client.query(`SELECT id, ${columns.join(", ")} FROM users`).all() as Array<Record<string, unknown>>) {
    for (const column of columns) {
      const value = row[column];
      if (value === null || (column !== "created_at" && value === undefined)) continue;
      if (readStoredDate(value) === null) found.push(`users #${String(row.id)} ${column} ${JSON.stringify(String(value)).slice(0, 40)}`);
    }
  }
  return found;
}
