// What `moxie doctor` says about the off-host copies (with S3_BUCKET set): where they are, the newest one, and a
// problem when there is none, it is older than two days, or the storage does not answer in time.
import { baseName, configuredLocation, copyTime, newestFirst, s3Url, type S3Settings, type StoredObject } from "../../offsite/locations.ts";
import { OffsiteStore } from "../../offsite/store.ts";
import { humanSize, plural } from "../dbfile.ts";
import type { Finding } from "./doctor-checks.ts";
import { formatTime } from "./offsite-support.ts";

type Print = (line: string) => void;

/** `moxie doctor` waits this long for the storage, then says it did not answer. */
export const DOCTOR_TIMEOUT_MS = 10_000;
/** `moxie doctor` calls the newest off-host copy stale past this age. */
export const OFFSITE_STALE_MS = 2 * 24 * 60 * 60 * 1000;

/**
 * With S3_BUCKET set: prints where the off-host copies are and the newest one, and finds a problem when there
 * is none, it is older than two days, or the storage cannot be asked (within DOCTOR_TIMEOUT_MS, said plainly).
 */
export async function offsiteFindings(s3: S3Settings, print: Print, now = new Date()): Promise<Finding[]> {
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
