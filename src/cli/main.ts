// The command line: parses argv, runs one shared bootstrap (settings → database → migrations, or the database as it
// is for the commands that only read), dispatches.
import { statSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import packageJson from "../../package.json" with { type: "json" };
import { databaseOn, openDatabase, DatabaseOpenError, type Db } from "../db/index.ts";
import { MigrationError, refusalMessage, UnknownDatabaseError, type MigrationOutcome } from "../db/adopt.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { ENV_FILE_VARIABLE } from "../settings/env-file.ts";
import { parseHost, parsePort } from "../settings/values.ts";
import type { Settings } from "../settings/index.ts";
import { createAdmin, listUsersCommand, setActiveCommand, setPasswordCommand, unlockCommand } from "./commands/accounts.ts";
import { CommandError, UsageError } from "./errors.ts";
import { auditCommand, AUDIT_OPTIONS, AUDIT_USAGE } from "./commands/audit.ts";
import { backupCommand, BACKUP_USAGE, restoreCommand, RESTORE_USAGE } from "./commands/backup.ts";
import { doctorCommand, DOCTOR_USAGE } from "./commands/doctor.ts";
import {
  BACKUPS_USAGE,
  listBackupsCommand,
  OFF_HOST_HELP,
  OFF_HOST_RESTORE_HELP,
  offsiteBackupCommand,
  offsiteRestoreCommand,
  wantsOffsiteBackup,
} from "./commands/offsite.ts";
import { isS3Url } from "../offsite/locations.ts";
import { databaseFileState, noDatabaseError, openForReading, plural, schemaState, settingsFor, type Chosen, type Where } from "./dbfile.ts";
import { assertSchemaNotNewer, describeOutcome, migrateCommand } from "./commands/migrate.ts";
import { acquireServeLock } from "../db/serve-lock.ts";
import { checkCanListen, serve } from "./commands/serve.ts";
import { normalizeStoredEmails, type EmailRewrite } from "../accounts/stored-emails.ts";

export const VERSION = packageJson.version;

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Accepts operands after the options (`moxie backup [PATH]`); they reach `run` as `positionals`. */
  positionals?: boolean;
  run(context: {
    values: Record<string, string | boolean | undefined>;
    positionals: string[];
    /** The directory and settings file settings are read from, for commands that skip bootstrap. */
    where: Where;
    bootstrap: Bootstrap;
  }): Promise<void>;
}

interface BootstrapOptions {
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

interface Running {
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

/** Without options: an existing database only (the safe default for a command that reads or changes accounts). */
type Bootstrap = (options?: BootstrapOptions) => Running;

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: "start the HTTP API",
    usage: "moxie serve [--host HOST] [--port PORT]",
    options: { host: { type: "string" }, port: { type: "string" } },
    async run({ values, where, bootstrap }) {
      // The flags go through the same checks as HOST and PORT: `--host ''` must not mean every interface.
      const overrides: Partial<Settings> = {};
      const host = parsedOption(values, "host", parseHost);
      const port = parsedOption(values, "port", parsePort);
      if (host !== undefined) overrides.host = host;
      if (port !== undefined) overrides.port = port;
      const chosen = settingsFor(where, true);
      const settings = { ...chosen.settings, ...overrides };
      // Before anything is written: a start that cannot listen leaves no database or key file behind.
      checkCanListen(settings.host, settings.port);
      // One server per database (restore and a second serve check this lock), taken before the database is
      // opened: a refused second start must not migrate or rewrite the file the first one serves.
      let release: () => void;
      try {
        release = acquireServeLock(settings.databasePath);
      } catch (error) {
        if (error instanceof DatabaseOpenError) throw new UsageError(`DATABASE_URL: ${error.message} (${chosen.databaseChoice})`);
        throw error;
      }
      try {
        await serveLocked(bootstrap({ create: true, listening: true, overrides, announce: false }));
      } finally {
        release();
      }
    },
  },
  "create-admin": {
    summary: "create an active admin account",
    usage: "moxie create-admin --email EMAIL --name NAME [--password PASSWORD]\n\n" +
      "Without --password, asks twice on a terminal, or reads one line from stdin.",
    options: { email: { type: "string" }, name: { type: "string" }, password: { type: "string" } },
    async run({ values, bootstrap }) {
      const email = requireOption(values, "email");
      const name = requireOption(values, "name");
      const password = typeof values.password === "string" ? values.password : undefined;
      const open = () => {
        const running = bootstrap({ create: true });
        if (running.created) print(`Created database ${running.settings.databasePath} (${running.chosen.databaseChoice})`);
        return running.db;
      };
      await createAdmin(open, { email, name, password }, print);
    },
  },
  "set-password": {
    summary: "set an account's password (signs out its sessions)",
    usage: "moxie set-password --email EMAIL [--password PASSWORD]\n\n" +
      "Without --password, asks twice on a terminal, or reads one line from stdin.",
    options: { email: { type: "string" }, password: { type: "string" } },
    async run({ values, bootstrap }) {
      const email = requireOption(values, "email");
      const password = typeof values.password === "string" ? values.password : undefined;
      await setPasswordCommand(bootstrap({ create: false }).db, { email, password }, print);
    },
  },
  users: {
    summary: "list accounts",
    usage: "moxie users [--json]",
    options: { json: { type: "boolean" } },
    async run({ values, bootstrap }) {
      const { db } = bootstrap({ create: false, readOnly: true });
      try {
        listUsersCommand(db, values.json === true, print);
      } finally {
        db.$client.close();
      }
    },
  },
  deactivate: {
    summary: "deactivate an account (its tokens stop working at once)",
    usage: "moxie deactivate --email EMAIL",
    options: { email: { type: "string" } },
    async run({ values, bootstrap }) {
      await setActiveCommand(bootstrap({ create: false }).db, requireOption(values, "email"), false, print);
    },
  },
  activate: {
    summary: "reactivate an account",
    usage: "moxie activate --email EMAIL",
    options: { email: { type: "string" } },
    async run({ values, bootstrap }) {
      await setActiveCommand(bootstrap({ create: false }).db, requireOption(values, "email"), true, print);
    },
  },
  unlock: {
    summary: "clear an account's sign-in throttle (after too many failed sign-ins)",
    usage: "moxie unlock --email EMAIL\n\nA running server sees it at the account's next sign-in.",
    options: { email: { type: "string" } },
    async run({ values, bootstrap }) {
      await unlockCommand(bootstrap().db, requireOption(values, "email"), print);
    },
  },
  migrate: {
    summary: "apply pending database migrations (--status: list them, apply nothing)",
    usage: "moxie migrate [--status]\n\n" +
      "Applies the migrations this moxie carries that the database lacks and prints each one.\n" +
      "--status lists every migration as applied or pending and changes nothing.\n" +
      "A missing database is refused, not created (serve and create-admin create one);\n" +
      "so is a database written by a newer moxie (exit 1).",
    options: { status: { type: "boolean" } },
    async run({ values, where, bootstrap }) {
      await migrateCommand({ where, status: values.status === true, bootstrap: () => bootstrap({ create: false, announce: false }) }, print);
    },
  },
  backup: {
    summary: "write a consistent copy of the database (safe while the server runs), here or to s3://",
    usage: `${BACKUP_USAGE}\n\n${OFF_HOST_HELP}`,
    options: { keep: { type: "string" }, "off-host": { type: "boolean" } },
    positionals: true,
    async run({ positionals, values, where }) {
      if (positionals.length > 1) throw new UsageError(`backup takes at most one PATH\n\nUsage: ${BACKUP_USAGE}`);
      const keep = typeof values.keep === "string" ? values.keep : undefined;
      const offHost = values["off-host"] === true;
      if (wantsOffsiteBackup(positionals[0], offHost, keep)) {
        await offsiteBackupCommand({ where, target: positionals[0], offHost, keep }, print);
        return;
      }
      await backupCommand({ where, target: positionals[0] }, print);
    },
  },
  backups: {
    summary: "list backup copies, newest first (beside the database, in a directory, or under s3://)",
    usage: BACKUPS_USAGE,
    options: {},
    positionals: true,
    async run({ positionals, where }) {
      if (positionals.length > 1) throw new UsageError(`backups takes at most one DIR or s3:// prefix

Usage: ${BACKUPS_USAGE}`);
      await listBackupsCommand({ where, source: positionals[0] }, print);
    },
  },
  restore: {
    summary: "replace the database with a backup (server stopped), from a file or s3://",
    usage: `${RESTORE_USAGE}

${OFF_HOST_RESTORE_HELP}`,
    options: { latest: { type: "boolean" } },
    positionals: true,
    async run({ positionals, values, where }) {
      const [source, ...extra] = positionals;
      const latest = values.latest === true;
      if ((source === undefined && !latest) || extra.length > 0) throw new UsageError(`restore takes one PATH

Usage: ${RESTORE_USAGE}`);
      if (latest || isS3Url(source)) {
        await offsiteRestoreCommand({ where, source, latest }, print);
        return;
      }
      await restoreCommand({ where, source: source! }, print);
    },
  },
  doctor: {
    summary: "check settings, database and file permissions (exit 1 on a problem; advice is listed)",
    usage: DOCTOR_USAGE,
    options: {},
    async run({ where }) {
      await doctorCommand({ where }, print);
    },
  },
  audit: {
    summary: "list audit events newest first, or prune old ones",
    usage: AUDIT_USAGE,
    options: AUDIT_OPTIONS,
    async run({ values, bootstrap }) {
      // Listing only reads; --prune-days deletes, so it may migrate first like every command that writes.
      await auditCommand(values, (readOnly) => bootstrap({ create: false, readOnly }).db, print);
    },
  },
};

function print(line: string): void {
  console.log(line);
}

/** serve, once the lock is held and the database open: says what opening changed, then listens until a signal. */
async function serveLocked(running: Running): Promise<void> {
  if (running.created) {
    running.log.info("created a new database", { path: running.settings.databasePath, chosen_by: running.chosen.databaseChoice });
  }
  if (running.migration.adopted) {
    running.log.info("adopted the Python moxie's database", {
      database: running.settings.databasePath,
      baseline: running.migration.baseline,
      applied: running.migration.applied,
      alembic_version: running.migration.alembic,
    });
  } else if (!running.created && running.migration.applied.length > 0) {
    running.log.info("applied migrations", { database: running.settings.databasePath, applied: running.migration.applied });
  }
  if (running.emails.length > 0) {
    // What moxie changed in the accounts' rows, said where the operator looks, not only in the audit trail.
    running.log.info("rewrote stored emails to their one spelling", { count: running.emails.length, emails: running.emails });
  }
  await serve(running);
}

function parsedOption<T>(values: Record<string, string | boolean | undefined>, name: string, parse: (raw: string) => T): T | undefined {
  const raw = values[name];
  if (typeof raw !== "string") return undefined;
  try {
    return parse(raw.trim());
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

function requireOption(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required`);
  return value;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return [
    `moxie ${VERSION}: accounts and sign-in API for the leasing team`,
    "",
    "Usage: moxie <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options: --help (also after a command), --version,",
    `  --env-file FILE   read settings from FILE instead of ./.env (also ${ENV_FILE_VARIABLE}=FILE), e.g. a server's`,
    "                    /etc/moxie/moxie.env, so the CLI uses the same database as the service",
    "Settings come from the environment and ./.env (see README): DATABASE_URL, SECRET_KEY, CORS_ORIGINS, HOST, PORT.",
    "Only serve and create-admin create a new database (and restore writes one from a backup); the other",
    "commands refuse a missing one and say where they looked. users, audit, doctor, backup and migrate --status",
    "only read, never migrate or change it; users and audit refuse one that needs `moxie migrate` first (exit 1).",
  ].join("\n");
}

function bootstrapFor(where: Where, command: string): Bootstrap {
  return ({ create, readOnly = false, listening = false, overrides = {}, announce = true } = { create: false }) => {
    const chosen = settingsFor(where, listening);
    const settings = { ...chosen.settings, ...overrides };
    const log = createLogger({ level: settings.logLevel, format: settings.logFormat });
    const state = databaseFileState(settings.databasePath);
    const existed = state === "present";
    if (!existed && !create) throw noDatabaseError(chosen, state === "empty" ? "empty" : "missing");
    // A database written by a newer moxie is refused before anything touches it.
    assertSchemaNotNewer(settings.databasePath);
    const none: MigrationOutcome = { adopted: false, baseline: [], applied: [] };
    if (readOnly) return { settings, db: openAsItIs(settings.databasePath, chosen, command), log, created: false, chosen, migration: none, emails: [] };
    let migration = none;
    try {
      const db = openDatabase(settings.databasePath, { onMigrated: (outcome) => (migration = outcome) });
      // Emails stored before the NFKC rules get their one spelling (collisions are left for `moxie doctor`).
      const emails = normalizeStoredEmails(db);
      if (announce && existed) for (const line of describeOutcome(migration, emails)) print(line);
      return { settings, db, log, created: !existed, chosen, migration, emails };
    } catch (error) {
      if (error instanceof DatabaseOpenError || error instanceof UnknownDatabaseError) {
        throw new UsageError(`DATABASE_URL: ${error.message} (${chosen.databaseChoice})`);
      }
      if (error instanceof MigrationError) throw new CommandError(error.message);
      throw error;
    }
  };
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

/**
 * Takes `--env-file FILE` (or `--env-file=FILE`) out of the arguments, wherever it stands: it is global.
 * Throws UsageError when it has no value or is given twice.
 */
export function takeEnvFile(args: string[]): { args: string[]; envFile: string | undefined } {
  const rest: string[] = [];
  let envFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    let value: string | undefined;
    if (arg === "--env-file") {
      value = args[++i];
      if (value === undefined || value === "") throw new UsageError("--env-file needs a FILE (e.g. --env-file /etc/moxie/moxie.env)");
    } else if (arg.startsWith("--env-file=")) {
      value = arg.slice("--env-file=".length);
      if (value === "") throw new UsageError("--env-file needs a FILE (e.g. --env-file=/etc/moxie/moxie.env)");
    } else {
      rest.push(arg);
      continue;
    }
    if (envFile !== undefined) throw new UsageError("--env-file is given twice");
    envFile = value;
  }
  return { args: rest, envFile };
}

/**
 * `--prune-days -1` reaches parseArgs as an option followed by what looks like another option ("argument is
 * ambiguous"); joined as `--prune-days=-1`, the command's own check can say what is wrong with the value.
 */
function joinNegativeValues(args: string[], options: Command["options"]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Every error line is moxie's own: `moxie: <sentence>` on stderr, whatever raised it. */
function printError(message: string): void {
  console.error(`moxie: ${message}`);
}

/** node:util parseArgs's errors ("Unknown option '--jsn'", "Option '--email <value>' argument missing") said as moxie says them. */
function describeParseError(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch ((error as { code?: string }).code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option '${option}' for ${name}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `${name} takes no arguments, only options (got '${/'([^']*)'/.exec(message)?.[1]}')`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(message)) return `${option} takes no value`;
      // "argument missing", or the next word is another option ("ambiguous"): the value was left out.
      return `${option} needs a value${/ambiguous/.test(message) ? ` (a value starting with '-' is written ${option}=VALUE)` : ""}`;
    default:
      return message.split("\n")[0]!;
  }
}

/** Runs the command line `argv` (without the program name) and returns the exit code. */
export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  let taken: ReturnType<typeof takeEnvFile>;
  try {
    taken = takeEnvFile(argv);
  } catch (error) {
    printError((error as Error).message);
    return 2;
  }
  const where: Where = { cwd, envFile: taken.envFile };
  const [name, ...rest] = taken.args;
  if (name === undefined) {
    printError(`a command is required\n\n${usage()}`);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    printError(`${name.startsWith("-") ? "unknown option" : "unknown command"} '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals } = (() => {
      try {
        return parseArgs({ args: joinNegativeValues(rest, command.options), options: { ...command.options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: command.positionals ?? false });
      } catch (error) {
        throw new UsageError(`${describeParseError(error, name)}\n\nUsage: ${command.usage}`);
      }
    })();
    if (values.help) {
      console.log(`Usage: ${command.usage}`);
      return 0;
    }
    await command.run({ values, positionals, where, bootstrap: bootstrapFor(where, name) });
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof CommandError) {
      printError(error.message);
      return error.exitCode;
    }
    // SQLite waited BUSY_TIMEOUT_MS for another writer (a server under load) and gave up.
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      printError("the database is busy (another process is writing); nothing was changed, try again");
      return 1;
    }
    printError((error as Error).message ?? String(error));
    return 1;
  }
}
