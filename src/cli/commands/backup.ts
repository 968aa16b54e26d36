// `moxie backup [PATH]`: a consistent copy while the server keeps writing (VACUUM INTO from a connection of its own:
// one read transaction, so WAL readers never block the writer), checked; `backup s3://…` uploads it (offsite-backup.ts).
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isS3Url } from "../../offsite/locations.ts";
import { print, type Command } from "../command.ts";
import { databaseFileState, humanSize, noDatabaseError, settingsFor, type Where } from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { defaultBackupPath, describe, isDirectory, removeFileSet, writeCheckedCopy } from "./copies.ts";

type Print = (line: string) => void;

export const OFF_HOST_HELP =
  "moxie backup s3://BUCKET/PREFIX/ [--keep N]   the same checked copy, uploaded (multipart when large) with its\n" +
  "                                              sha256 beside it as <copy>.sha256; --keep N deletes all but the\n" +
  "                                              newest N copies moxie named under the prefix\n" +
  "moxie backup --off-host [--keep N]            to s3://$S3_BUCKET/$S3_PREFIX (S3_PREFIX defaults to moxie/);\n" +
  "                                              with S3_BUCKET unset it says so and exits 0 (for the timer)\n" +
  "Credentials and endpoint: S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_ENDPOINT, S3_REGION (or AWS_*).";


/** True when `moxie backup` was asked for an off-host copy (an s3:// target, --off-host or --keep). */
export function wantsOffsiteBackup(target: string | undefined, offHost: boolean, keep: string | undefined): boolean {
  return offHost || isS3Url(target) || keep !== undefined;
}

export const BACKUP_USAGE =
  "moxie backup [PATH]\n\n" +
  "Writes a consistent copy of the database while the server keeps running, checks it with\n" +
  "PRAGMA integrity_check, and prints its path and size. PATH defaults to\n" +
  "moxie-backup-<UTC time>.db beside the database; a directory gets that name inside it.\n" +
  "An existing file, or a directory that does not exist, is refused as bad input (exit 2):\n" +
  "nothing is ever overwritten. The copy is readable by its owner only.";

export const backupCommand: Command = {
  usage: `${BACKUP_USAGE}\n\n${OFF_HOST_HELP}`,
  options: { keep: { type: "string" }, "off-host": { type: "boolean" } },
  positionals: true,
  async run({ positionals, values, where }) {
    if (positionals.length > 1) throw new UsageError(`backup takes at most one PATH\n\nUsage: ${BACKUP_USAGE}`);
    const keep = typeof values.keep === "string" ? values.keep : undefined;
    const offHost = values["off-host"] === true;
    if (wantsOffsiteBackup(positionals[0], offHost, keep)) {
      // The S3 client and its commands load only for a copy that leaves the machine.
      const { offsiteBackup } = await import("./offsite-backup.ts");
      await offsiteBackup({ where, target: positionals[0], offHost, keep }, print);
      return;
    }
    await backup({ where, target: positionals[0] }, print);
  },
};

async function backup(options: { where: Where; target?: string }, print: Print): Promise<void> {
  // `backup ""` (an unset shell variable, "$DIR") must not quietly mean "the working directory".
  if (options.target === "") {
    throw new UsageError("PATH is empty; name a file or an existing directory, or leave it out for moxie-backup-<UTC>.db beside the database");
  }
  const chosen = settingsFor(options.where);
  const { databasePath } = chosen.settings;
  const state = databaseFileState(databasePath);
  if (state !== "present") throw noDatabaseError(chosen, state === "empty" ? "empty" : "missing");

  const cwd = options.where.cwd;
  const named = options.target === undefined ? undefined : resolve(cwd, options.target);
  // The file name is moxie's to choose unless PATH names a file.
  const intoDirectory = named === undefined ? dirname(databasePath) : isDirectory(named) ? named : undefined;
  let target = intoDirectory === undefined ? named! : defaultBackupPath(intoDirectory);
  // A PATH that names an existing file or a missing directory is bad input (exit 2), like a misspelled option.
  if (existsSync(target)) throw new UsageError(`${target} already exists; moxie never overwrites a file, choose another path`);
  if (!isDirectory(dirname(target))) {
    throw new UsageError(`cannot write ${target}: the directory ${dirname(target)} does not exist (create it first, or name another)`);
  }

  // Reserve the name (O_EXCL, owner-only) before SQLite writes into it; VACUUM INTO accepts an empty file. A
  // name moxie chose that another backup took meanwhile gives way to the next one.
  for (;;) {
    try {
      closeSync(openSync(target, "wx", 0o600));
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && intoDirectory !== undefined) {
        target = defaultBackupPath(intoDirectory);
        continue;
      }
      if (code === "EEXIST") throw new UsageError(`${target} already exists; moxie never overwrites a file, choose another path`);
      throw new CommandError(`cannot create ${target}: ${(error as Error).message}`);
    }
  }
  try {
    writeCheckedCopy(databasePath, target);
  } catch (error) {
    removeFileSet(target);
    throw new CommandError(`backup failed, nothing was kept: ${describe(error)}`);
  }
  print(`Backup written: ${target} (${humanSize(statSync(target).size)})`);
}
