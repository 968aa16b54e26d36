#!/usr/bin/env bun
// The binary's entry: parses argv, runs one shared bootstrap (settings → database → migrations), dispatches.
import { parseArgs, type ParseArgsConfig } from "node:util";
import packageJson from "../package.json" with { type: "json" };
import { openDatabase, DatabaseOpenError, type Db } from "./db/index.ts";
import { MigrationError, UnknownDatabaseError, type MigrationOutcome } from "./db/adopt.ts";
import { createLogger, type Logger } from "./log.ts";
import { ENV_FILE_VARIABLE, parseHost, parsePort, type Settings } from "./settings.ts";
import { createAdmin, listUsersCommand, setActiveCommand, setPasswordCommand, unlockCommand } from "./commands/accounts.ts";
import { CommandError, UsageError } from "./commands/errors.ts";
import { auditCommand, AUDIT_OPTIONS, AUDIT_USAGE } from "./commands/audit.ts";
import { backupCommand, BACKUP_USAGE, restoreCommand, RESTORE_USAGE } from "./commands/backup.ts";
import { doctorCommand, DOCTOR_USAGE } from "./commands/doctor.ts";
import { databaseFileState, noDatabaseError, settingsFor, type Chosen, type Where } from "./commands/dbfile.ts";
import { assertSchemaNotNewer, migrateCommand } from "./commands/migrate.ts";
import { acquireServeLock } from "./commands/serve-lock.ts";
import { checkCanListen, serve } from "./commands/serve.ts";
import { normalizeStoredEmails } from "./users/service.ts";

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
  /** Only `serve` validates HOST and PORT. */
  listening?: boolean;
  overrides?: Partial<Settings>;
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
      const settings = { ...settingsFor(where, true).settings, ...overrides };
      // Before anything is written: a start that cannot listen leaves no database or key file behind.
      checkCanListen(settings.host, settings.port);
      const running = bootstrap({ create: true, listening: true, overrides });
      if (running.created) {
        running.log.info("created a new database", { path: running.settings.databasePath, chosen_by: running.chosen.databaseChoice });
      }
      if (running.migration.adopted) {
        running.log.info("adopted the Python moxie's database", {
          database: running.settings.databasePath,
          baseline: running.migration.baseline,
          applied: running.migration.applied,
        });
      }
      // One server per database: restore and a second serve check this lock.
      const release = acquireServeLock(running.settings.databasePath);
      try {
        await serve(running);
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
      listUsersCommand(bootstrap({ create: false }).db, values.json === true, print);
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
      await migrateCommand({ where, status: values.status === true, bootstrap: () => bootstrap({ create: false }) }, print);
    },
  },
  backup: {
    summary: "write a consistent copy of the database (safe while the server runs)",
    usage: BACKUP_USAGE,
    options: {},
    positionals: true,
    async run({ positionals, where }) {
      if (positionals.length > 1) throw new UsageError(`backup takes at most one PATH\n\nUsage: ${BACKUP_USAGE}`);
      await backupCommand({ where, target: positionals[0] }, print);
    },
  },
  restore: {
    summary: "replace the database with a backup (server stopped)",
    usage: RESTORE_USAGE,
    options: {},
    positionals: true,
    async run({ positionals, where }) {
      const [source, ...extra] = positionals;
      if (source === undefined || extra.length > 0) throw new UsageError(`restore takes one PATH\n\nUsage: ${RESTORE_USAGE}`);
      await restoreCommand({ where, source }, print);
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
      await auditCommand(values, () => bootstrap({ create: false }).db, print);
    },
  },
};

function print(line: string): void {
  console.log(line);
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
    "Only serve and create-admin create a new database; the other commands refuse and say where they looked.",
  ].join("\n");
}

function bootstrapFor(where: Where): Bootstrap {
  return ({ create, listening = false, overrides = {} } = { create: false }) => {
    const chosen = settingsFor(where, listening);
    const settings = { ...chosen.settings, ...overrides };
    const log = createLogger({ level: settings.logLevel, format: settings.logFormat });
    const state = databaseFileState(settings.databasePath);
    const existed = state === "present";
    if (!existed && !create) throw noDatabaseError(chosen, state === "empty" ? "empty" : "missing");
    // A database written by a newer moxie is refused before anything touches it.
    assertSchemaNotNewer(settings.databasePath);
    let migration: MigrationOutcome = { adopted: false, baseline: [], applied: [] };
    try {
      const db = openDatabase(settings.databasePath, { onMigrated: (outcome) => (migration = outcome) });
      // Emails stored before the NFKC rules get their one spelling (collisions are left for `moxie doctor`).
      normalizeStoredEmails(db);
      return { settings, db, log, created: !existed, chosen, migration };
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

/** Runs the command line `argv` (without the program name) and returns the exit code. */
export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  let taken: ReturnType<typeof takeEnvFile>;
  try {
    taken = takeEnvFile(argv);
  } catch (error) {
    console.error(`Error: ${(error as Error).message}`);
    return 2;
  }
  const where: Where = { cwd, envFile: taken.envFile };
  const [name, ...rest] = taken.args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`moxie: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals } = (() => {
      try {
        return parseArgs({ args: joinNegativeValues(rest, command.options), options: { ...command.options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: command.positionals ?? false });
      } catch (error) {
        throw new UsageError(`${(error as Error).message.split("\n")[0]}\n\nUsage: ${command.usage}`);
      }
    })();
    if (values.help) {
      console.log(`Usage: ${command.usage}`);
      return 0;
    }
    await command.run({ values, positionals, where, bootstrap: bootstrapFor(where) });
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof CommandError) {
      console.error(`Error: ${error.message}`);
      return error.exitCode;
    }
    // SQLite waited BUSY_TIMEOUT_MS for another writer (a server under load) and gave up.
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      console.error("Error: the database is busy (another process is writing); nothing was changed, try again");
      return 1;
    }
    console.error(`Error: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  process.umask(0o077); // every file moxie creates (database, WAL, key, backups) is owner-only
  process.exitCode = await main(process.argv.slice(2));
}
