// The command line: takes the global --env-file, answers --help and --version itself, and otherwise loads the one
// command named (src/cli/commands.ts), reads its options and runs it. Errors are one line: exit 2 for bad input.
import { parseArgs } from "node:util";
import packageJson from "../../package.json" with { type: "json" };
import { ENV_FILE_VARIABLE } from "../settings/env-file.ts";
import { describeParseError, joinNegativeValues, takeEnvFile } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import type { Where } from "./dbfile.ts";
import { CommandError, UsageError } from "./errors.ts";

export const VERSION = packageJson.version;

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

/** Every error line is moxie's own: `moxie: <sentence>` on stderr, whatever raised it. */
function printError(message: string): void {
  console.error(`moxie: ${message}`);
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
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    printError(`${name.startsWith("-") ? "unknown option" : "unknown command"} '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
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
    await command.run({ name, values, positionals, where });
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
