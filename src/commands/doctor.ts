// `moxie doctor`: what this moxie would run with, and what about it needs an operator's attention.
// Reads only: the database is opened without being created or migrated, and the signing key is never printed.
import { emailCollisions } from "../users/email.ts";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { generatedSecretPath } from "../auth/secret.ts";
import type { Database } from "bun:sqlite";
import { migrateClient, refusalMessage, sqliteReason } from "../db/adopt.ts";
import { readStoredDate, UNREADABLE_DATE } from "../db/dates.ts";
import { EMBEDDED_MIGRATIONS } from "../db/migrations.ts";
import { describeRevision } from "./migrate.ts";
import { MIN_SECRET_KEY_LENGTH, type Settings } from "../settings.ts";
import { CommandError } from "./errors.ts";
import { hasTable, humanSize, integrityProblems, openExisting, plural, schemaState, settingsFor } from "./dbfile.ts";
import { serveLockHolder } from "./serve-lock.ts";

type Print = (line: string) => void;

/** Filesystem types on which several hosts may share a file (and SQLite's locks and WAL are unreliable). */
export const NETWORK_FILESYSTEMS = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "9p",
  "afs",
  "ncpfs",
  "ceph",
  "glusterfs",
  "lustre",
  "gpfs",
  "beegfs",
  "ocfs2",
  "gfs2",
  "davfs",
  "fuse.sshfs",
  "fuse.glusterfs",
  "fuse.cephfs",
  "fuse.s3fs",
  "fuse.rclone",
  "fuse.davfs2",
]);

export const DOCTOR_USAGE =
  "moxie doctor\n\n" +
  "Prints the version, the settings in effect (never the SECRET_KEY value), and the database's\n" +
  "path, size, journal mode, schema version and accounts, then any warnings: no active admin,\n" +
  "files readable by group or other, a generated key on shared storage, a newer schema.\n" +
  "Opens the database read-only in effect: creates and migrates nothing.\n" +
  "Exit status: 0 when there is nothing to warn about, 1 when there is any warning.";

export async function doctorCommand(options: { cwd: string }, print: Print): Promise<void> {
  const settings = settingsFor(options.cwd);
  const dbPath = settings.databasePath;
  const secretPath = generatedSecretPath(dbPath);
  const warnings: string[] = [];

  print(`moxie ${packageJson.version}`);
  print("");
  print("Settings:");
  for (const [name, value] of describeSettings(settings, secretPath)) print(`  ${name.padEnd(31)} ${value}`);

  // Permissions first: opening the database below may create its -wal and -shm.
  const dir = dirname(dbPath);
  for (const [path, fix] of [
    [dir, "700"],
    [dbPath, "600"],
    [`${dbPath}-wal`, "600"],
    [`${dbPath}-shm`, "600"],
    [secretPath, "600"],
  ] as const) {
    const mode = modeOf(path);
    if (mode !== undefined && (mode & 0o077) !== 0) {
      warnings.push(`${path} is accessible by group or other (mode ${mode.toString(8).padStart(4, "0")}): chmod ${fix} ${path}`);
    }
  }
  const dotEnv = resolve(options.cwd, ".env");
  const dotEnvMode = modeOf(dotEnv);
  if (dotEnvMode !== undefined && (dotEnvMode & 0o077) !== 0 && /^\s*(export\s+)?SECRET_KEY\s*=\s*\S/m.test(readText(dotEnv))) {
    warnings.push(`${dotEnv} sets SECRET_KEY and is readable by group or other: chmod 600 ${dotEnv}`);
  }

  const fsType = filesystemTypeOf(existingAncestor(dir));
  if (fsType !== undefined && NETWORK_FILESYSTEMS.has(fsType)) {
    warnings.push(
      `the database is on a network filesystem (${fsType}): SQLite's locking and WAL mode are not reliable there; keep it on a local disk`,
    );
    if (settings.secretKey === undefined) {
      warnings.push(
        `the signing key is generated beside the database, on shared storage (${fsType}): anyone who can read ${secretPath} ` +
          "can forge sign-ins; set SECRET_KEY from a secret store instead",
      );
    }
  }
  if (settings.secretKey === undefined && existsSync(secretPath) && readText(secretPath).trim().length < MIN_SECRET_KEY_LENGTH) {
    warnings.push(`the generated key file ${secretPath} is damaged or unreadable; remove it or set SECRET_KEY`);
  }

  print("");
  print("Database:");
  print(`  path          ${dbPath}`);
  if (!existsSync(dbPath)) {
    print("  status        does not exist yet (the first `moxie create-admin`, `migrate` or `serve` creates it)");
    warnings.push("there is no active admin: create one with `moxie create-admin --email EMAIL --name NAME`");
  } else {
    inspectDatabase(dbPath, print, warnings);
  }
  const holder = serveLockHolder(dbPath);
  print(`  server        ${holder === null ? "not running" : `running (pid ${holder})`}`);

  print("");
  if (warnings.length === 0) {
    print("No warnings.");
    return;
  }
  print("Warnings:");
  for (const warning of warnings) print(`  - ${warning}`);
  throw new CommandError(`doctor found ${plural(warnings.length, "warning")}`);
}

function inspectDatabase(dbPath: string, print: Print, warnings: string[]): void {
  const size = statSync(dbPath).size;
  const walSize = modeOf(`${dbPath}-wal`) === undefined ? 0 : statSync(`${dbPath}-wal`).size;
  print(`  size          ${humanSize(size)}${walSize > 0 ? ` (+ ${humanSize(walSize)} in the WAL)` : ""}`);
  let client;
  try {
    client = openExisting(dbPath);
  } catch (error) {
    warnings.push(`cannot read the database: ${(error as Error).message}`);
    return;
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
      warnings.push(`moxie cannot use this database: ${refusalMessage(dbPath, database)}; check DATABASE_URL`);
    } else if (state.pending.length > 0 && state.unknown.length === 0) {
      // Try the migration for real and roll it back: "applied at the next start" must be a start that works.
      try {
        migrateClient(client, dbPath, { dryRun: true });
      } catch (error) {
        warnings.push(`the database cannot be migrated, so the next start would fail: ${sqliteReason(error)}`);
      }
    }
    if (state.unknown.length > 0) {
      warnings.push(
        `the database records ${plural(state.unknown.length, "migration")} this moxie ${packageJson.version} does not know: ` +
          "a newer moxie wrote it; upgrade moxie (this version refuses to serve it)",
      );
    }
    for (const { migration } of state.mismatched) {
      warnings.push(`migration ${migration.tag} was recorded with a different hash than this build's`);
    }

    const problems = integrityProblems(client, true);
    print(`  integrity     ${problems.length === 0 ? "ok (quick_check)" : problems[0]}`);
    if (problems.length > 0) warnings.push(`the database fails quick_check: ${problems[0]}; restore a backup`);

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
        warnings.push(
          `moxie cannot read ${plural(unreadable.length, "stored date")} of accounts (${unreadable.slice(0, 3).join("; ")}); ` +
            `they are shown as ${UNREADABLE_DATE}: correct them in the form 2026-11-30T05:53:04.000Z`,
        );
      }
      if (counts.admins === 0) {
        warnings.push("there is no active admin: create one with `moxie create-admin --email EMAIL --name NAME`");
      }
      // Accounts whose emails are one address spelled twice (look-alikes stored before normalization): never merged
      // automatically; an operator decides which one stays.
      for (const { normalized, ids } of emailCollisions(client.query("SELECT id, email FROM users ORDER BY id").all() as Array<{ id: number; email: string }>)) {
        warnings.push(
          `accounts ${ids.map((id) => `#${id}`).join(", ")} have emails that are one address (${normalized}); ` +
            "change or deactivate all but one (moxie never merges accounts)",
        );
      }
    } else {
      print("  users         no users table yet");
      warnings.push("there is no active admin: create one with `moxie create-admin --email EMAIL --name NAME`");
    }
  } finally {
    client.close();
  }
}

/** "users #3 created_at '30/11/2026'" for each stored date of an account that toIsoUtc cannot read. */
function unreadableDates(client: Database): string[] {
  const columns = ["created_at", "password_changed_at", "last_login_at"].filter((column) =>
    (client.query("SELECT name FROM pragma_table_info('users')").all() as Array<{ name: string }>).some((row) => row.name === column),
  );
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

function describeSettings(settings: Settings, secretPath: string): Array<[string, string]> {
  let secret: string;
  if (settings.secretKey !== undefined) secret = `set (${settings.secretKey.length} chars)`;
  else if (existsSync(secretPath)) secret = `generated (${secretPath})`;
  else secret = `not yet generated (the first \`moxie serve\` writes ${secretPath})`;
  return [
    ["DATABASE_URL", settings.databasePath],
    ["SECRET_KEY", secret],
    ["HOST", settings.host],
    ["PORT", String(settings.port)],
    ["CORS_ORIGINS", settings.corsOrigins.join(",") || "(none)"],
    ["DOCS", String(settings.docs)],
    ["CONSOLE", String(settings.console)],
    ["BODY_LIMIT_BYTES", String(settings.bodyLimitBytes)],
    ["LOGIN_MAX_FAILURES", String(settings.loginMaxFailures)],
    ["LOGIN_MAX_FAILURES_PER_ADDRESS", String(settings.loginMaxFailuresPerAddress)],
    ["LOGIN_MAX_FAILURES_PER_ACCOUNT", String(settings.loginMaxFailuresPerAccount)],
    ["LOGIN_WINDOW_SECONDS", String(settings.loginWindowSeconds)],
    ["TRUSTED_PROXY", settings.trustedProxy ?? "(not set)"],
    ["LOG_LEVEL", settings.logLevel],
    ["LOG_FORMAT", settings.logFormat],
    ["SHUTDOWN_GRACE_SECONDS", String(settings.shutdownGraceSeconds)],
    ["AUDIT_RETENTION_DAYS", settings.auditRetentionDays === 0 ? "0 (keep forever)" : String(settings.auditRetentionDays)],
  ];
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function existingAncestor(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  try {
    return realpathSync(current);
  } catch {
    return current;
  }
}

/** The type of the filesystem holding `path` (already resolved), from /proc/mounts; undefined when unknown. */
export function filesystemTypeOf(path: string, mounts: string = readText("/proc/mounts")): string | undefined {
  let best: { mountPoint: string; type: string } | undefined;
  for (const line of mounts.split("\n")) {
    const [, rawMountPoint, type] = line.split(" ");
    if (rawMountPoint === undefined || type === undefined) continue;
    // /proc/mounts escapes space, tab, newline and backslash as octal.
    const mountPoint = rawMountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const inside = mountPoint === "/" || path === mountPoint || path.startsWith(`${mountPoint}/`);
    // The last of equal mount points wins: it is mounted over the earlier ones.
    if (inside && (best === undefined || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, type };
  }
  return best?.type;
}
