// The settings file: ./.env in the working directory, or the file --env-file or MOXIE_ENV_FILE names, read as systemd's
// EnvironmentFile and shells write it.
import { lstatSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";

/** Raised with every bad key at once, so an operator fixes the whole file in one pass. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "SettingsError";
  }
}

export type Environment = Record<string, string | undefined>;

/** Names the settings file to read instead of ./.env (as `--env-file PATH` does); for systemd units and shells. */
export const ENV_FILE_VARIABLE = "MOXIE_ENV_FILE";

/**
 * Reads `KEY=value` lines from `.env` in `cwd`; a missing file is no error. One that is there but cannot be
 * read is: ignoring it would start on the default database and a generated key, as if there were no settings.
 */
export function readDotEnv(cwd: string): Environment {
  const path = resolve(cwd, ".env");
  // lstat, not exists: a link to a missing or unreachable file is a .env that cannot be read, not no .env.
  try {
    lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
  }
  return readEnvFile(path, "./.env");
}

/** A settings file the operator named: it must exist and be readable, or nothing starts. */
export function readEnvFile(path: string, source = "--env-file"): Environment {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? isLink(path)
          ? "it is a symbolic link to a file that does not exist"
          : "no such file"
        : code === "EACCES"
          ? `permission denied for ${userName()} (the file must be readable by the user moxie runs as)`
          : code === "EISDIR"
            ? "it is a directory"
            : (error as Error).message;
    throw new SettingsError([`${source} ${path}: cannot read it: ${why}`]);
  }
  return parseEnvText(text);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** "alice (uid 1000)"; the uid alone when the system has no name for it. */
function userName(): string {
  const uid = process.getuid?.();
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined;
  }
  // Bun reports "unknown" for a uid without a passwd entry (and for some system users).
  return name && name !== "unknown" ? `${name} (uid ${uid ?? "?"})` : `uid ${uid ?? "?"}`;
}

/**
 * `KEY=value` lines as systemd's EnvironmentFile and shells write them: comments, `export`, quotes. Names are
 * read in any case, as the Python original's settings (pydantic) read them: its `.env` may say `secret_key=`;
 * where a file spells one name both ways, the upper-case line wins.
 */
function parseEnvText(text: string): Environment {
  const values: Environment = {};
  const otherCase: Environment = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, key, rawValue = ""] = match;
    if (key === key!.toUpperCase()) values[key!] = unquote(rawValue);
    else otherCase[key!.toUpperCase()] = unquote(rawValue);
  }
  return { ...otherCase, ...values };
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) return value.slice(1, -1);
  const comment = value.indexOf(" #");
  return comment === -1 ? value : value.slice(0, comment).trimEnd();
}
