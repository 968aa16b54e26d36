// What a command is to the command line (src/cli/main.ts): its usage, options and run. Each lives in src/cli/commands/
// and is loaded only when it runs (src/cli/commands.ts), so one command's imports never slow another's start.
import type { ParseArgsConfig } from "node:util";
import type { Where } from "./dbfile.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | undefined>;

export interface CommandContext {
  /** The command's name as typed (`users`), for messages that name it. */
  name: string;
  values: Values;
  positionals: string[];
  /** The directory and settings file the settings are read from. */
  where: Where;
}

export interface Command {
  usage: string;
  options: Options;
  /** Accepts operands after the options (`moxie backup [PATH]`); they reach `run` as `positionals`. */
  positionals?: boolean;
  run(context: CommandContext): Promise<void>;
}

/** Every line a command prints to stdout. */
export function print(line: string): void {
  console.log(line);
}
