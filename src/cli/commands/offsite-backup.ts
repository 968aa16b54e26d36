// `moxie backup s3://…` (and `--off-host`): the local backup's checked copy (copies.ts), uploaded with its sha256 beside
// it, then `--keep N` prunes the copies moxie named under the prefix.
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  baseName,
  BACKUP_NAME,
  checksumText,
  CHECKSUM_SUFFIX,
  compareNames,
  configuredLocation,
  isS3Url,
  moxieCopiesNewestFirst,
  prefixLocation,
  s3Url,
  type S3Location,
  type StoredObject,
} from "../../offsite/locations.ts";
import { OffsiteError, sha256OfFile, type OffsiteStore } from "../../offsite/store.ts";
import { databaseFileState, humanSize, noDatabaseError, settingsFor, type Where } from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { defaultBackupName, writeCheckedCopy } from "./copies.ts";
import { countCopies, failed, offsiteCommandError, openStore, usage } from "./offsite-support.ts";

type Print = (line: string) => void;

/** A checksum left by an upload that failed is removed on the way out, if the storage answers this soon. */
const CLEANUP_TIMEOUT_MS = 10_000;
export const MAX_KEEP = 10_000;

export async function offsiteBackup(
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
