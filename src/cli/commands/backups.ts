// `moxie backups [DIR | s3://…]`: the copies, newest first, with time and size: beside the database and in its
// backups/, in DIR, or under an s3:// prefix (and the configured one).
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  baseName,
  CHECKSUM_SUFFIX,
  configuredLocation,
  copyTime,
  isS3Url,
  newestFirst,
  prefixLocation,
  s3Url,
  type S3Location,
  type S3Settings,
  type StoredObject,
} from "../../offsite/locations.ts";
import { print as printLine, type Command } from "../command.ts";
import { humanSize, settingsFor, type Where } from "../dbfile.ts";
import { UsageError } from "../errors.ts";
import { printTable } from "../table.ts";
import { isDirectory } from "./copies.ts";
import { countCopies, failed, formatTime, openStore, usage } from "./offsite-support.ts";

type Print = (line: string) => void;

export const BACKUPS_USAGE =
  "moxie backups [DIR | s3://BUCKET/PREFIX/]\n\n" +
  "Lists backup copies, newest first, with their time (UTC) and size: those in DIR, or under the s3://\n" +
  "prefix (with whether a sha256 is stored beside each). Without an argument: the copies beside the\n" +
  "database and in its backups/ directory, and, when S3_BUCKET is set, those under s3://$S3_BUCKET/$S3_PREFIX.\n" +
  "Reads only.";

export const backupsCommand: Command = {
  usage: BACKUPS_USAGE,
  options: {},
  positionals: true,
  async run({ positionals, where }) {
    if (positionals.length > 1) throw new UsageError(`backups takes at most one DIR or s3:// prefix\n\nUsage: ${BACKUPS_USAGE}`);
    await listBackups({ where, source: positionals[0] }, printLine);
  },
};

async function listBackups(options: { where: Where; source: string | undefined }, print: Print): Promise<void> {
  const chosen = settingsFor(options.where);
  const { databasePath, s3 } = chosen.settings;
  if (options.source !== undefined && isS3Url(options.source)) {
    await printOffsite(s3, usage(() => prefixLocation(options.source!)), print);
    return;
  }
  if (options.source !== undefined) {
    const dir = resolve(options.where.cwd, options.source);
    if (!isDirectory(dir)) throw new UsageError(`${dir} is not a directory; name the directory that holds the copies, or an s3:// prefix`);
    printLocal(dir, databasePath, print);
    return;
  }
  const dir = dirname(databasePath);
  printLocal(dir, databasePath, print);
  if (isDirectory(join(dir, "backups"))) printLocal(join(dir, "backups"), databasePath, print);
  const configured = configuredLocation(s3);
  if (configured !== undefined) await printOffsite(s3, configured, print);
  else print("Off-host: S3_BUCKET is not set (no off-host copies configured)");
}

function printLocal(dir: string, databasePath: string, print: Print): void {
  const copies = localCopies(dir, databasePath);
  print(`${dir}/: ${copies.length === 0 ? "no copies" : `${countCopies(copies.length)}, newest first`}`);
  if (copies.length === 0) return;
  printTable(
    ["name", "time (UTC)", "size"],
    copies.map((copy) => [baseName(copy.key), formatTime(copyTime(copy)), humanSize(copy.size)]),
    (line) => print(`  ${line}`),
  );
}

async function printOffsite(s3: S3Settings, location: S3Location, print: Print): Promise<void> {
  const store = openStore(s3, location.bucket, "nothing was listed");
  const objects = await failed(store.list(location.key), "nothing was listed");
  const keys = new Set(objects.map((object) => object.key));
  const copies = newestFirst(objects.filter((object) => object.key.endsWith(".db")));
  const where = s3Url(location);
  print(`${where}: ${copies.length === 0 ? "no copies" : `${countCopies(copies.length)}, newest first`}`);
  if (copies.length === 0) return;
  printTable(
    ["name", "time (UTC)", "size", "checksum"],
    copies.map((copy) => [baseName(copy.key), formatTime(copyTime(copy)), humanSize(copy.size), keys.has(copy.key + CHECKSUM_SUFFIX) ? "sha256" : "none"]),
    (line) => print(`  ${line}`),
  );
}

/** The SQLite files (`*.db`) in `dir` other than the database itself, newest first by modification time. */
export function localCopies(dir: string, databasePath: string): StoredObject[] {
  const copies: StoredObject[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!name.endsWith(".db") || path === databasePath) continue;
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue;
    }
    if (!stat.isFile() || !isSqliteFile(path)) continue;
    copies.push({ key: path, size: stat.size, lastModified: stat.mtime });
  }
  return newestFirst(copies);
}

function isSqliteFile(path: string): boolean {
  try {
    const fd = openSync(path, "r");
    try {
      const header = Buffer.alloc(16);
      return readSync(fd, header, 0, 16, 0) === 16 && header.toString("latin1") === "SQLite format 3\0";
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
