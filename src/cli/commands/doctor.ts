// `moxie doctor`: what this moxie would run with, and what about it needs an operator's attention.
// Reads only: the database is opened without being created or migrated, and the signing key is never printed.
import { emailCollisions, isWellFormedEmail } from "../../emails/normalize.ts";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import packageJson from "../../../package.json" with { type: "json" };
import { generatedSecretPath } from "../../tokens/secret.ts";
import type { Database } from "bun:sqlite";
import { columnNames, migrateClient, refusalMessage, sqliteReason } from "../../db/adopt.ts";
import { readStoredDate, UNREADABLE_DATE } from "../../db/dates.ts";
import { EMBEDDED_MIGRATIONS } from "../../db/migrations.ts";
import { describeRevision } from "./migrate.ts";
import { checkCanListen } from "./serve.ts";
import { loadSettings, SettingsError, type Settings } from "../../settings/index.ts";
import { MIN_SECRET_KEY_LENGTH } from "../../tokens/secret.ts";
import { CommandError } from "../errors.ts";
import {
  databaseFileState,
  hasTable,
  humanSize,
  integrityProblems,
  noDatabaseError,
  openForReading,
  plural,
  schemaState,
  settingsFor,
  withPrivateCopy,
  type Chosen,
  type Where,
} from "../dbfile.ts";
import { plannedEmailRewrites } from "../../accounts/stored-emails.ts";
import { offsiteFindings } from "./offsite.ts";
import { pidNote, serveLockHolder } from "../../db/serve-lock.ts";

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
  "Prints the version, the settings in effect (never SECRET_KEY or the S3 credentials), and the database's\n" +
  "path, size, journal mode, schema version and accounts, then its findings in two lists:\n" +
  "  problems  moxie cannot work safely as it is: no database or one it cannot open or migrate,\n" +
  "            no active admin, an unreadable key, secrets readable by others, a HOST or PORT serve refuses;\n" +
  "            with S3_BUCKET set: no off-host copy, the newest older than two days, or storage that does\n" +
  "            not answer (it waits at most 10 s)\n" +
  "  advice    worth a look, harmless as it is: a database directory others can list (a development\n" +
  "            checkout), migrations the next start applies, stored emails it brings to one spelling\n" +
  "Only reads: creates, migrates and changes nothing (a pending migration is tried on a private copy).\n" +
  "Exit status: 1 when there is a problem, 0 otherwise (advice alone never fails).";

/** A problem fails `doctor` (exit 1); advice is listed and leaves the exit status 0. */
export type Severity = "problem" | "advice";

export interface Finding {
  severity: Severity;
  message: string;
}

const problem = (message: string): Finding => ({ severity: "problem", message });
const advice = (message: string): Finding => ({ severity: "advice", message });

/** What the checks look at. */
export interface DoctorContext {
  where: Where;
  chosen: Chosen;
  settings: Settings;
  dbPath: string;
  secretPath: string;
}

/**
 * The checks that need no open database, in the order their findings are listed. To add one, write a function
 * from the context to its findings and list it here; database checks go in inspectDatabase.
 */
const CHECKS: Array<(context: DoctorContext) => Finding[]> = [
  filePermissions,
  databaseDirectory,
  settingsFile,
  sharedStorage,
  generatedKey,
];

export async function doctorCommand(options: { where: Where }, print: Print): Promise<void> {
  const chosen = settingsFor(options.where);
  const settings = chosen.settings;
  const dbPath = settings.databasePath;
  const context: DoctorContext = { where: options.where, chosen, settings, dbPath, secretPath: generatedSecretPath(dbPath) };

  print(`moxie ${packageJson.version}`);
  print("");
  print(`Settings${chosen.origin.file ? ` (from the environment and ${chosen.origin.file})` : " (from the environment)"}:`);
  // HOST and PORT as serve reads them: the other commands fall back to the defaults, which is not what serve uses.
  const listening = listenSettings(context);
  const refusedByServe = new Set(listening.map((finding) => finding.message.split(":")[0]));
  for (const [name, value] of describeSettings(settings, context.secretPath)) {
    print(`  ${name.padEnd(31)} ${refusedByServe.has(name) ? "(invalid: `moxie serve` refuses it, see below)" : value}`);
  }

  // File checks first: opening the database below may create its -wal and -shm.
  const findings = [...listening, ...CHECKS.flatMap((check) => check(context))];

  print("");
  print("Database:");
  print(`  path          ${dbPath}`);
  print(`  chosen by     ${chosen.databaseChoice}`);
  if (!existsSync(dbPath)) {
    print("  status        does not exist (`moxie serve` or `moxie create-admin` creates it)");
    findings.push(problem(noDatabaseError(chosen).message.replace("; nothing was created.", ".")));
  } else {
    findings.push(...inspectDatabase(dbPath, print));
  }
  const holder = serveLockHolder(dbPath);
  print(`  server        ${holder === null ? "not running" : `running${pidNote(holder)}`}`);
  // With S3_BUCKET set: the newest off-host copy, asked for within a bounded time.
  findings.push(...(await offsiteFindings(settings.s3, print)));

  const problems = findings.filter((f) => f.severity === "problem");
  const advised = findings.filter((f) => f.severity === "advice");
  print("");
  if (problems.length > 0) {
    print("Problems (exit 1; fix these):");
    for (const finding of problems) print(`  - ${finding.message}`);
  } else {
    print("No problems.");
  }
  if (advised.length > 0) {
    print("");
    print("Advice (does not fail doctor; worth a look):");
    for (const finding of advised) print(`  - ${finding.message}`);
  }
  if (problems.length > 0) throw new CommandError(`doctor found ${plural(problems.length, "problem")}`);
}

/**
 * A HOST or PORT that serve would refuse; the other commands ignore them, doctor says so. Well-formed ones are
 * tried as serve tries them (bound for a moment), unless a server on this database is listening already: an
 * address not on this machine, a port in use or below 1024 would stop the next start too.
 */
function listenSettings({ where, dbPath }: DoctorContext): Finding[] {
  let settings: Settings;
  try {
    settings = loadSettings(where.cwd, process.env, { envFile: where.envFile, listening: true });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return error.problems.map((text) => problem(`${text} (\`moxie serve\` refuses to start; other commands ignore it)`));
  }
  if (serveLockHolder(dbPath) !== null) return [];
  try {
    checkCanListen(settings.host, settings.port);
    return [];
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    return [problem(`${error.message} (\`moxie serve\` would refuse to start)`)];
  }
}

/** The database, its WAL and the generated key hold password hashes and the signing key: owner-only. */
function filePermissions({ dbPath, secretPath }: DoctorContext): Finding[] {
  const findings: Finding[] = [];
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, secretPath]) {
    const mode = modeOf(path);
    if (mode !== undefined && (mode & 0o077) !== 0) {
      findings.push(problem(`${path} is accessible by group or other (mode ${octal(mode)}): chmod 600 ${path}`));
    }
  }
  return findings;
}

/**
 * Others who can write the directory can replace the database: a problem. Others who can only list it see file
 * names, the files themselves being owner-only: normal in a development checkout, worth tightening on a server.
 */
function databaseDirectory({ dbPath }: DoctorContext): Finding[] {
  const dir = dirname(dbPath);
  const mode = modeOf(dir);
  if (mode === undefined) return [];
  if ((mode & 0o022) !== 0) {
    return [problem(`${dir} (the database directory) is writable by group or other (mode ${octal(mode)}): chmod 700 ${dir}`)];
  }
  if ((mode & 0o055) !== 0) {
    return [
      advice(
        `${dir} (the database directory) can be listed by group or other (mode ${octal(mode)}); the database and key in it ` +
          `are owner-only, which is fine for a development checkout; on a server keep it private: chmod 700 ${dir}`,
      ),
    ];
  }
  return [];
}

/**
 * A settings file that holds SECRET_KEY must not be readable by everyone. A named file (--env-file) may be
 * readable by its group (root:moxie 0640 lets the service's user read it); ./.env must be owner-only.
 */
function settingsFile({ chosen }: DoctorContext): Finding[] {
  const file = chosen.origin.file;
  if (file === undefined) return [];
  const mode = modeOf(file);
  const exposed = chosen.origin.named ? 0o007 : 0o077;
  if (mode === undefined || (mode & exposed) === 0) return [];
  const secret = /^\s*(?:export\s+)?(SECRET_KEY|S3_SECRET_ACCESS_KEY|AWS_SECRET_ACCESS_KEY|S3_SESSION_TOKEN|AWS_SESSION_TOKEN)\s*=\s*\S/im.exec(readText(file));
  if (!secret) return [];
  const who = chosen.origin.named ? "other users" : "group or other";
  const fix = chosen.origin.named ? `chmod 640 ${file} (owner root, group moxie)` : `chmod 600 ${file}`;
  return [problem(`${file} sets ${secret[1]!.toUpperCase()} and is readable by ${who} (mode ${octal(mode)}): ${fix}`)];
}

function sharedStorage({ settings, dbPath, secretPath }: DoctorContext): Finding[] {
  const fsType = filesystemTypeOf(existingAncestor(dirname(dbPath)));
  if (fsType === undefined || !NETWORK_FILESYSTEMS.has(fsType)) return [];
  const findings = [
    problem(`the database is on a network filesystem (${fsType}): SQLite's locking and WAL mode are not reliable there; keep it on a local disk`),
  ];
  if (settings.secretKey === undefined) {
    findings.push(
      problem(
        `the signing key is generated beside the database, on shared storage (${fsType}): anyone who can read ${secretPath} ` +
          "can forge sign-ins; set SECRET_KEY from a secret store instead",
      ),
    );
  }
  return findings;
}

function generatedKey({ settings, secretPath }: DoctorContext): Finding[] {
  if (settings.secretKey !== undefined || !existsSync(secretPath)) return [];
  if (readText(secretPath).trim().length >= MIN_SECRET_KEY_LENGTH) return [];
  return [problem(`the generated key file ${secretPath} is damaged or unreadable by this user; fix its owner, remove it, or set SECRET_KEY`)];
}

/** Prints what the database holds and returns what is wrong with it. */
function inspectDatabase(dbPath: string, print: Print): Finding[] {
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

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
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
    ["LOGIN_IPV6_PREFIX", String(settings.loginIpv6PrefixLength)],
    ["TRUSTED_PROXY", settings.trustedProxy ?? "(not set)"],
    ["LOG_LEVEL", settings.logLevel],
    ["LOG_FORMAT", settings.logFormat],
    ["SHUTDOWN_GRACE_SECONDS", String(settings.shutdownGraceSeconds)],
    ["AUDIT_RETENTION_DAYS", settings.auditRetentionDays === 0 ? "0 (keep forever)" : String(settings.auditRetentionDays)],
    ["HASHING_CONCURRENCY", String(settings.hashingConcurrency)],
    ["HASHING_QUEUE", String(settings.hashingQueue)],
    // Off-host backups: where, never the credentials (not even the key id).
    ["S3_BUCKET", settings.s3.bucket ?? "(not set: no off-host backups)"],
    ["S3_PREFIX", settings.s3.prefix === "" ? "(the bucket's top)" : settings.s3.prefix],
    ["S3_ENDPOINT", settings.s3.endpoint ?? "(not set: AWS S3)"],
    ["S3_REGION", settings.s3.region ?? "(not set: us-east-1)"],
    ["S3_ACCESS_KEY_ID", settings.s3.accessKeyId === undefined ? "(not set)" : `set${viaAws(settings.s3.names.accessKeyId)}`],
    ["S3_SECRET_ACCESS_KEY", settings.s3.secretAccessKey === undefined ? "(not set)" : `set${viaAws(settings.s3.names.secretAccessKey)}`],
  ];
}

/** " (as AWS_SECRET_ACCESS_KEY)" when the value came from the AWS_* spelling. */
function viaAws(name: string | undefined): string {
  return name?.startsWith("AWS_") ? ` (as ${name})` : "";
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
