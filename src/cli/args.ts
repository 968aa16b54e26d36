// Reading the command line: the global --env-file, option values, and parseArgs's errors said as moxie says them.
import type { Options, Values } from "./command.ts";
import { UsageError } from "./errors.ts";

/** `--name VALUE` read with `parse`, or undefined when it is not given; a value `parse` refuses is bad input (exit 2). */
export function parsedOption<T>(values: Values, name: string, parse: (raw: string) => T): T | undefined {
  const raw = values[name];
  if (typeof raw !== "string") return undefined;
  try {
    return parse(raw.trim());
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

/** The value of a required `--name VALUE`; left out, it is bad input (exit 2). */
export function requireOption(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required`);
  return value;
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
export function joinNegativeValues(args: string[], options: Options): string[] {
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

/** node:util parseArgs's errors ("Unknown option '--jsn'", "Option '--email <value>' argument missing") said as moxie says them. */
export function describeParseError(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  // An option with a short form is named "'-q, --search <value>'": the long name is the one to say.
  const option = /'(?:-\w, )?(-{1,2}[^' ]+)/.exec(message)?.[1];
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
