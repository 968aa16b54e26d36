#!/usr/bin/env bun
// The binary's entry: parses argv, runs one shared bootstrap (settings → database → migrations), dispatches.
import { parseArgs, type ParseArgsConfig } from "node:util";
import packageJson from "../package.json" with { type: "json" };
import { openDatabase, DatabaseOpenError, type Db } from "./db/index.ts";
import { createLogger, type Logger } from "./log.ts";
import { loadSettings, parsePort, SettingsError, type Settings } from "./settings.ts";
import { createAdmin } from "./commands/accounts.ts";
import { CommandError, UsageError } from "./commands/errors.ts";
import { serve } from "./commands/serve.ts";

export const VERSION = packageJson.version;

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(context: { values: Record<string, string | boolean | undefined>; bootstrap: Bootstrap }): Promise<void>;
}

type Bootstrap = (overrides?: Partial<Settings>) => { settings: Settings; db: Db; log: Logger };

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: "start the HTTP API",
    usage: "moxie serve [--host HOST] [--port PORT]",
    options: { host: { type: "string" }, port: { type: "string" } },
    async run({ values, bootstrap }) {
      const overrides: Partial<Settings> = {};
      if (typeof values.host === "string") overrides.host = values.host;
      if (typeof values.port === "string") {
        try {
          overrides.port = parsePort(values.port);
        } catch (error) {
          throw new UsageError(`--port: ${(error as Error).message}`);
        }
      }
      await serve(bootstrap(overrides));
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
      const { db } = bootstrap();
      const password = typeof values.password === "string" ? values.password : undefined;
      await createAdmin(db, { email, name, password }, (line) => console.log(line));
    },
  },
};

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
    "Options: --help (also after a command), --version",
    "Settings come from the environment and ./.env (see README): DATABASE_URL, SECRET_KEY, CORS_ORIGINS, HOST, PORT.",
  ].join("\n");
}

function bootstrapFor(cwd: string): Bootstrap {
  return (overrides = {}) => {
    let settings: Settings;
    try {
      settings = { ...loadSettings(cwd), ...overrides };
    } catch (error) {
      if (error instanceof SettingsError) throw new UsageError(`invalid settings: ${error.message}`);
      throw error;
    }
    const log = createLogger();
    try {
      return { settings, db: openDatabase(settings.databasePath), log };
    } catch (error) {
      if (error instanceof DatabaseOpenError) throw new UsageError(`DATABASE_URL: ${error.message}`);
      throw error;
    }
  };
}

/** Runs the command line `argv` (without the program name) and returns the exit code. */
export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  const [name, ...rest] = argv;
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
        return parseArgs({ args: rest, options: { ...command.options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false });
      } catch (error) {
        throw new UsageError(`${(error as Error).message.split("\n")[0]}\n\nUsage: ${command.usage}`);
      }
    })();
    void positionals;
    if (values.help) {
      console.log(`Usage: ${command.usage}`);
      return 0;
    }
    await command.run({ values, bootstrap: bootstrapFor(cwd) });
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof CommandError) {
      console.error(`Error: ${error.message}`);
      return error.exitCode;
    }
    console.error(`Error: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  process.umask(0o077); // every file moxie creates (database, WAL, key, backups) is owner-only
  process.exitCode = await main(process.argv.slice(2));
}
