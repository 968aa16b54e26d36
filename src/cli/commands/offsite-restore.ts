// `moxie restore s3://BUCKET/KEY` and `moxie restore --latest [s3://… | DIR]`: downloads the copy, requires its sha256
// to match the one stored beside it, then restores it exactly as `moxie restore FILE` does (restore.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { baseName, CHECKSUM_SUFFIX, configuredLocation, copyTime, isS3Url, newestFirst, parseS3Url, prefixLocation, readChecksumText, s3Url, type S3Location } from "../../offsite/locations.ts";
import { OffsiteError, type OffsiteStore } from "../../offsite/store.ts";
import { humanSize, settingsFor, type Where } from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { localCopies } from "./backups.ts";
import { isDirectory } from "./copies.ts";
import { failed, formatTime, offsiteCommandError, openStore, usage } from "./offsite-support.ts";
import { restoreFrom } from "./restore-from-file.ts";

type Print = (line: string) => void;

export async function offsiteRestore(
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
      await restoreFrom({ where: options.where, source: newest.key }, print);
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
      await restoreFrom({ where: options.where, source: local }, (line) => print(named(line)));
    } catch (error) {
      // Every refusal names the object; one that named no file at all gets the object's name in front.
      if (error instanceof Error) error.message = error.message.includes(local) ? named(error.message) : `cannot restore ${url}: ${error.message}`;
      throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
