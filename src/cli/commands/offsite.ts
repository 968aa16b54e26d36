// `moxie backup s3://…` (and `--off-host`), `moxie backups`, `moxie restore s3://…` (and `--latest`), and what
// `moxie doctor` says about the off-host copies. The copy is the local backup's (writeCheckedCopy); the
// restore is the local restore (restoreCommand), run on a download whose sha256 matched the one stored beside it.
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { S3Settings } from "../../offsite/locations.ts";
import {
  baseName,
  BACKUP_NAME,
  checksumText,
  CHECKSUM_SUFFIX,
  compareNames,
  configuredLocation,
  copyTime,
  isS3Url,
  moxieCopiesNewestFirst,
  newestFirst,
  parseS3Url,
  prefixLocation,
  readChecksumText,
  s3Url,
  type S3Location,
  type StoredObject,
} from "../../offsite/locations.ts";
import { OffsiteError, OffsiteStore, sha256OfFile } from "../../offsite/store.ts";
import { defaultBackupName, restoreCommand, writeCheckedCopy } from "./backup.ts";
import { databaseFileState, humanSize, noDatabaseError, plural, settingsFor, type Where } from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { printTable } from "../table.ts";

type Print = (line: string) => void;

/** `moxie doctor` waits this long for the storage, then says it did not answer. */
export const DOCTOR_TIMEOUT_MS = 10_000;
/** `moxie doctor` calls the newest off-host copy stale past this age. */
export const OFFSITE_STALE_MS = 2 * 24 * 60 * 60 * 1000;
/** A checksum left by an upload that failed is removed on the way out, if the storage answers this soon. */
const CLEANUP_TIMEOUT_MS = 10_000;
export const MAX_KEEP = 10_000;

export const OFF_HOST_HELP =
  "moxie backup s3://BUCKET/PREFIX/ [--keep N]   the same checked copy, uploaded (multipart when large) with its\n" +
  "                                              sha256 beside it as <copy>.sha256; --keep N deletes all but the\n" +
  "                                              newest N copies moxie named under the prefix\n" +
  "moxie backup --off-host [--keep N]            to s3://$S3_BUCKET/$S3_PREFIX (S3_PREFIX defaults to moxie/);\n" +
  "                                              with S3_BUCKET unset it says so and exits 0 (for the timer)\n" +
  "Credentials and endpoint: S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_ENDPOINT, S3_REGION (or AWS_*).";

export const OFF_HOST_RESTORE_HELP =
  "moxie restore s3://BUCKET/KEY        downloads the copy into a private temp file, requires its sha256 to match\n" +
  "                                     <KEY>.sha256, then restores it as above (everyone is signed out)\n" +
  "moxie restore --latest [s3://BUCKET/PREFIX/ | DIR]\n" +
  "                                     the newest copy there (`moxie backups` lists them); without a place,\n" +
  "                                     s3://$S3_BUCKET/$S3_PREFIX";

export const BACKUPS_USAGE =
  "moxie backups [DIR | s3://BUCKET/PREFIX/]\n\n" +
  "Lists backup copies, newest first, with their time (UTC) and size: those in DIR, or under the s3://\n" +
  "prefix (with whether a sha256 is stored beside each). Without an argument: the copies beside the\n" +
  "database and in its backups/ directory, and, when S3_BUCKET is set, those under s3://$S3_BUCKET/$S3_PREFIX.\n" +
  "Reads only.";

/** True when `moxie backup` was asked for an off-host copy (an s3:// target, --off-host or --keep). */
export function wantsOffsiteBackup(target: string | undefined, offHost: boolean, keep: string | undefined): boolean {
  return offHost || isS3Url(target) || keep !== undefined;
}

export async function offsiteBackupCommand(
  options: { where: Where; target: string | undefined; offHost: boolean; keep: string | undefined },
  print: Print,
): Promise<void> {
  const keep = options.keep === undefined ? undefined : parseKeep(options.keep);
  if (options.offHost && options.target !== undefined) {
    throw new UsageError("--off-host takes no PATH: it uploads to s3://$S3_BUCKET/$S3_PREFIX; name an s3:// prefix instead, or drop --off-host");
  }
  if (options.target !== undefined && !isS3Url(options.target)) {
    throw new UsageError("--keep applies to an s3:// prefix; local copies are pruned by the backup timer (deploy/moxie-backup.service)");
  }
  const chosen = settingsFor(options.where);
  const { databasePath, s3 } = chosen.settings;
  let location: S3Location;
  if (options.target !== undefined) {
    location = usage(() => prefixLocation(options.target!));
  } else {
    const configured = configuredLocation(s3);
    if (configured === undefined) {
      if (!options.offHost) throw new UsageError("--keep applies to an s3:// prefix: moxie backup s3://BUCKET/PREFIX/ --keep N");
      print('No off-host copy made: S3_BUCKET is not set (see "Backups off the machine" in the README)');
      return;
    }
    location = configured;
  }
  const state = databaseFileState(databasePath);
  if (state !== "present") throw noDatabaseError(chosen, state === "empty" ? "empty" : "missing");
  const store = openStore(s3, location.bucket, "nothing was uploaded");
  const where = s3Url(location);

  const work = mkdtempSync(join(tmpdir(), "moxie-upload-"));
  try {
    // The listing first: it proves the bucket and the credentials before any work, and shows the names taken.
    const before = await failed(store.list(location.key), "nothing was uploaded");
    const date = new Date();
    const name = freeName(before, location.key, date);
    const key = location.key + name;
    const copy = join(work, name);
    closeSync(openSync(copy, "wx", 0o600));
    try {
      writeCheckedCopy(databasePath, copy);
    } catch (error) {
      throw new CommandError(`backup failed, nothing was uploaded: ${(error as Error).message}`);
    }
    const size = statSync(copy).size;
    const sha256 = await sha256OfFile(copy);

    // The checksum goes first, so every copy under its final name has one. An upload that fails leaves no
    // object under that name (see OffsiteStore.upload), and its checksum is taken away again.
    const checksumKey = key + CHECKSUM_SUFFIX;
    await failed(store.writeText(checksumKey, checksumText(sha256, name)), "nothing was uploaded");
    try {
      await store.upload(key, copy, size);
      const stored = await store.size(key);
      if (stored !== size) {
        await store.delete(key, CLEANUP_TIMEOUT_MS).catch(() => {});
        throw new OffsiteError(`${store.url(key)} held ${stored} bytes after the upload instead of ${size}; it was deleted`, "other");
      }
    } catch (error) {
      await store.delete(checksumKey, CLEANUP_TIMEOUT_MS).catch(() => {});
      throw offsiteCommandError(error, `no copy was stored under ${where}`);
    }
    print(`Backup uploaded: ${store.url(key)} (${humanSize(size)}, ${size} bytes)`);
    print(`sha256 ${sha256} (stored beside it as ${store.url(checksumKey)})`);
    if (keep !== undefined) await prune(store, location, keep, key, print);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Deletes moxie's copies under the prefix beyond the newest `keep` (each with its checksum). The copy just made
 * counts as the newest whatever its name says (a copy dated ahead by another host's clock cannot push it out).
 */
async function prune(store: OffsiteStore, location: S3Location, keep: number, made: string, print: Print): Promise<void> {
  const where = s3Url(location);
  const context = `the copy was uploaded, but pruning ${where} to the newest ${keep} failed`;
  const objects = await failed(store.list(location.key), context);
  const named = moxieCopiesNewestFirst(objects.filter((object) => object.key.endsWith(".db")));
  const copies = [...named.filter((object) => object.key === made), ...named.filter((object) => object.key !== made)];
  const doomed = copies.slice(keep);
  const present = new Set(objects.map((object) => object.key));
  // A checksum whose copy is gone (an upload that failed where the storage could not be told) is removed once
  // it is older than every copy kept; a newer one may belong to an upload still under way.
  const oldestKept = copies[Math.min(keep, copies.length) - 1];
  const orphans = objects.filter((object) => {
    if (!object.key.endsWith(CHECKSUM_SUFFIX)) return false;
    const copyKey = object.key.slice(0, -CHECKSUM_SUFFIX.length);
    if (present.has(copyKey) || !BACKUP_NAME.test(baseName(copyKey))) return false;
    return oldestKept !== undefined && compareNames(copyKey, oldestKept.key) < 0;
  });
  for (const object of doomed) {
    await failed(store.delete(object.key), context);
    if (present.has(object.key + CHECKSUM_SUFFIX)) await failed(store.delete(object.key + CHECKSUM_SUFFIX), context);
  }
  for (const object of orphans) await failed(store.delete(object.key), context);
  if (doomed.length === 0) {
    print(`${countCopies(copies.length)} under ${where}, within --keep ${keep}: none deleted`);
  } else {
    print(`Kept the newest ${keep} under ${where}; deleted ${doomed.length}: ${doomed.map((object) => baseName(object.key)).join(", ")}`);
  }
}

export async function listBackupsCommand(options: { where: Where; source: string | undefined }, print: Print): Promise<void> {
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

export async function offsiteRestoreCommand(
  options: { where: Where; source: string | undefined; latest: boolean },
  print: Print,
): Promise<void> {
  const chosen = settingsFor(options.where);
  const { databasePath, s3 } = chosen.settings;
  if (options.latest) {
    if (options.source !== undefined && !isS3Url(options.source)) {
      const dir = resolve(options.where.cwd, options.source);
      if (!isDirectory(dir)) throw new UsageError(`${dir} is not a directory; --latest takes the directory of the copies, or an s3:// prefix`);
      const newest = localCopies(dir, databasePath)[0];
      if (newest === undefined) throw new UsageError(`${dir} holds no backup copy (*.db); nothing was restored`);
      print(`The newest copy in ${dir}/ is ${baseName(newest.key)} (${formatTime(copyTime(newest))} UTC)`);
      await restoreCommand({ where: options.where, source: newest.key }, print);
      return;
    }
    let location: S3Location | undefined;
    if (options.source !== undefined) location = usage(() => prefixLocation(options.source!));
    else location = configuredLocation(s3);
    if (location === undefined) throw new UsageError("--latest needs a place to look: s3://BUCKET/PREFIX/ or a directory (or S3_BUCKET set)");
    const store = openStore(s3, location.bucket, "nothing was restored");
    const objects = await failed(store.list(location.key), "nothing was restored");
    const newest = newestFirst(objects.filter((object) => object.key.endsWith(".db")))[0];
    if (newest === undefined) throw new UsageError(`${s3Url(location)} holds no copy; nothing was restored`);
    print(`The newest copy under ${s3Url(location)} is ${baseName(newest.key)} (${formatTime(copyTime(newest))} UTC)`);
    await restoreObject(store, newest.key, options, print);
    return;
  }
  const location = usage(() => parseS3Url(options.source!));
  if (location.key === "" || location.key.endsWith("/")) {
    throw new UsageError(`${options.source} names a prefix; name one copy (\`moxie backups ${options.source}\` lists them), or use --latest`);
  }
  const store = openStore(s3, location.bucket, "nothing was restored");
  await restoreObject(store, location.key, options, print);
}

/**
 * Downloads one copy into a private temp directory, requires its sha256 to be the one stored beside it, and
 * restores it exactly as `moxie restore FILE` does (integrity, a moxie or original database, the swap, everyone
 * signed out); its messages name the object, not the temp file.
 */
async function restoreObject(store: OffsiteStore, key: string, options: { where: Where }, print: Print): Promise<void> {
  const url = store.url(key);
  let size: number;
  try {
    size = await store.size(key);
  } catch (error) {
    if (error instanceof OffsiteError && error.failure === "missing") {
      throw new UsageError(`${url} does not exist; nothing was restored (\`moxie backups s3://${store.bucket}/${key.slice(0, key.lastIndexOf("/") + 1)}\` lists the copies)`);
    }
    throw offsiteCommandError(error, "nothing was restored");
  }
  const recorded = await failed(store.readText(key + CHECKSUM_SUFFIX), "nothing was restored");
  if (recorded === undefined) {
    throw new CommandError(`${url} has no checksum beside it (${url}${CHECKSUM_SUFFIX}), so moxie cannot tell it arrived as it was written; nothing was restored`);
  }
  const expected = readChecksumText(recorded);
  if (expected === undefined) throw new CommandError(`${url}${CHECKSUM_SUFFIX} holds no sha256; nothing was restored`);

  const work = mkdtempSync(join(tmpdir(), "moxie-restore-"));
  const local = join(work, baseName(key));
  try {
    const got = await failed(store.download(key, local, size), "nothing was restored");
    if (got.sha256 !== expected) {
      throw new CommandError(
        `${url} does not match its checksum (sha256 ${got.sha256}, stored ${expected}): it changed after it was uploaded, or arrived damaged; nothing was restored`,
      );
    }
    print(`Downloaded ${url} (${humanSize(got.size)}); its sha256 matches ${url}${CHECKSUM_SUFFIX}`);
    const named = (text: string) => text.replaceAll(local, url);
    try {
      await restoreCommand({ where: options.where, source: local }, (line) => print(named(line)));
    } catch (error) {
      // Every refusal names the object; one that named no file at all gets the object's name in front.
      if (error instanceof Error) error.message = error.message.includes(local) ? named(error.message) : `cannot restore ${url}: ${error.message}`;
      throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A line of `moxie doctor`'s findings. */
export interface OffsiteFinding {
  severity: "problem" | "advice";
  message: string;
}

/**
 * With S3_BUCKET set: prints where the off-host copies are and the newest one, and finds a problem when there
 * is none, it is older than two days, or the storage cannot be asked (within DOCTOR_TIMEOUT_MS, said plainly).
 */
export async function offsiteFindings(s3: S3Settings, print: Print, now = new Date()): Promise<OffsiteFinding[]> {
  const location = configuredLocation(s3);
  print("");
  print("Off-host backups:");
  if (location === undefined) {
    print("  location      not configured (S3_BUCKET is not set)");
    return [];
  }
  const where = s3Url(location);
  let store: OffsiteStore;
  try {
    store = new OffsiteStore(s3, location.bucket);
  } catch (error) {
    print(`  location      ${where}`);
    return [{ severity: "problem", message: `S3_BUCKET is set but the copies under ${where} cannot be checked: ${(error as Error).message}` }];
  }
  print(`  location      ${where} at ${store.endpoint}`);
  let objects: StoredObject[];
  try {
    objects = await store.list(location.key, DOCTOR_TIMEOUT_MS);
  } catch (error) {
    print("  newest        unknown (see below)");
    return [{ severity: "problem", message: `cannot check the off-host copies: ${(error as Error).message}` }];
  }
  const newest = newestFirst(objects.filter((object) => object.key.endsWith(".db")))[0];
  if (newest === undefined) {
    print("  newest        none");
    return [{ severity: "problem", message: `there is no off-host copy under ${where} yet: make one with \`moxie backup --off-host\` (the backup timer does it nightly)` }];
  }
  const age = now.getTime() - copyTime(newest).getTime();
  print(`  newest        ${baseName(newest.key)}, ${formatTime(copyTime(newest))} UTC (${describeAge(age)}), ${humanSize(newest.size)}`);
  if (age > OFFSITE_STALE_MS) {
    return [{
      severity: "problem",
      message: `the newest off-host copy (${store.url(newest.key)}) is ${describeAge(age)}, older than two days: ` +
        "is the backup timer failing? (systemctl status moxie-backup; journalctl -u moxie-backup)",
    }];
  }
  return [];
}

function describeAge(ms: number): string {
  if (ms < 0) return "dated in the future";
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 1) return "less than an hour old";
  if (hours < 48) return `${plural(hours, "hour")} old`;
  return `${plural(Math.floor(hours / 24), "day")} old`;
}

/** The store for `bucket`, or a settings error (exit 2: nothing was sent) when the credentials are not set. */
function openStore(s3: S3Settings, bucket: string, outcome: string): OffsiteStore {
  try {
    return new OffsiteStore(s3, bucket);
  } catch (error) {
    if (error instanceof OffsiteError) throw new UsageError(`${error.message}; ${outcome}`);
    throw error;
  }
}

/** `work`, with a failure of the storage turned into the command's one line. */
async function failed<T>(work: Promise<T>, outcome: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw offsiteCommandError(error, outcome);
  }
}

function offsiteCommandError(error: unknown, outcome: string): Error {
  if (error instanceof CommandError || error instanceof UsageError) return error;
  if (error instanceof OffsiteError) {
    if (error.failure === "settings" || error.failure === "credentials") return new UsageError(`${error.message}; ${outcome}`);
    return new CommandError(`${error.message}; ${outcome}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseKeep(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_KEEP) {
    throw new UsageError(`--keep: '${raw}' is not a whole number from 1 to ${MAX_KEEP} (the copy just made is always kept)`);
  }
  return Number(raw);
}

/**
 * moxie-backup-<UTC>.db, or -N past the highest N of that second already there (a copy or a checksum): the new
 * copy's name must sort after every copy of its second, or --keep would take it for the oldest.
 */
function freeName(objects: StoredObject[], prefix: string, date: Date): string {
  const stem = defaultBackupName(date).slice(0, -".db".length);
  let highest = 0;
  for (const object of objects) {
    const name = object.key.slice(prefix.length).replace(/\.sha256$/, "");
    const match = BACKUP_NAME.exec(name);
    if (match && `moxie-backup-${match[1]}` === stem) highest = Math.max(highest, Number(match[2] ?? 1));
  }
  return highest === 0 ? `${stem}.db` : `${stem}-${highest + 1}.db`;
}

/** The SQLite files (`*.db`) in `dir` other than the database itself, newest first by modification time. */
function localCopies(dir: string, databasePath: string): StoredObject[] {
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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** 2026-11-30 02:30:05 */
function formatTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
}

function countCopies(count: number): string {
  return count === 1 ? "1 copy" : `${count} copies`;
}
