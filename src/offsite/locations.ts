// Where off-host copies go and what they are called: s3:// URLs, the configured bucket and prefix, moxie's copy names
// and their order, the checksum file beside each. Plain functions: nothing here talks to the storage.
/**
 * S3_* (or the AWS_* spellings Bun's own client reads; S3_* wins). Every field is undefined when unset: the
 * S3 commands say which one is missing. The secret and session token are never printed (`moxie doctor` says
 * "set"); neither is the access key id.
 */
export interface S3Settings {
  /** The bucket of the off-host copies the timer and `moxie doctor` look at. */
  bucket: string | undefined;
  /** Where under the bucket those copies go: "" or ending in "/" (default "moxie/"). */
  prefix: string;
  /** e.g. https://<account>.r2.cloudflarestorage.com; unset means AWS S3 in the region. */
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  sessionToken: string | undefined;
  /** The variable each value came from, by field (e.g. bucket: "S3_BUCKET"), for messages that name it. */
  names: Partial<Record<"bucket" | "endpoint" | "region" | "accessKeyId" | "secretAccessKey" | "sessionToken", string>>;
}

/** A bucket name as S3, R2, B2, MinIO and Garage accept them (3-63 characters; older AWS buckets may be longer). */
export function parseBucket(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(raw)) {
    throw new Error(`'${raw}' is not a bucket name (letters, digits, '.', '-', '_'; no '/' or s3://)`);
  }
  return raw;
}

/** A key prefix: no leading '/', and a trailing '/' added, so the copies sit in a folder of their own. */
export function parseS3Prefix(raw: string): string {
  const prefix = raw.replace(/^\/+/, "");
  if (prefix === "") return "";
  if (/[\u0000-\u001f\u007f]|\/\//.test(prefix)) throw new Error(`'${raw}' is not a key prefix (no control characters or '//')`);
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}
/** A bucket and a key in it: an object's key, or a prefix ("" or ending in "/"). */
export interface S3Location {
  bucket: string;
  key: string;
}

/** An object in a listing. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** The name moxie gives a copy (as the local `moxie backup` does), with the -2, -3 of a second copy in one second. */
export const BACKUP_NAME = /^moxie-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.db$/;
/** The checksum beside each copy: `<sha256 hex>  <name>\n`, as `sha256sum` writes and checks it. */
export const CHECKSUM_SUFFIX = ".sha256";

export function isS3Url(raw: string | undefined): raw is string {
  return raw !== undefined && /^s3:\/\//i.test(raw);
}

/** `s3://BUCKET/KEY` (or `s3://BUCKET/PREFIX/`, or `s3://BUCKET`): throws with a sentence for anything else. */
export function parseS3Url(raw: string): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(raw);
  if (!match) throw new Error(`'${raw}' is not an s3:// URL (s3://BUCKET/PREFIX/)`);
  const bucket = parseBucket(match[1]!);
  const key = match[2] ?? "";
  if (/[\u0000-\u001f\u007f]/.test(key) || key.startsWith("/") || key.includes("//")) {
    throw new Error(`'${raw}' has a key S3 storage would not show as written (a control character, or '//')`);
  }
  return { bucket, key };
}

/** The location as a URL, e.g. s3://moxie-backups/moxie/moxie-backup-20261130T023000Z.db. */
export function s3Url(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** A prefix location from a URL that must name one: `s3://BUCKET` or `s3://BUCKET/PREFIX/`. */
export function prefixLocation(raw: string): S3Location {
  const location = parseS3Url(raw);
  if (location.key !== "" && !location.key.endsWith("/")) {
    throw new Error(`${raw} names an object; name a prefix ending in '/' (s3://${location.bucket}/${location.key}/), under which moxie names each copy moxie-backup-<UTC time>.db`);
  }
  return { bucket: location.bucket, key: location.key === "" ? "" : parseS3Prefix(location.key) };
}

/** The configured off-host location, `s3://$S3_BUCKET/$S3_PREFIX`, or undefined when S3_BUCKET is not set. */
export function configuredLocation(s3: S3Settings): S3Location | undefined {
  return s3.bucket === undefined ? undefined : { bucket: s3.bucket, key: s3.prefix };
}

/** "https://… (S3_ENDPOINT)" or "AWS S3 (region …)": where requests go, without anything secret. */
export function describeEndpoint(s3: S3Settings): string {
  if (s3.endpoint !== undefined) return s3.endpoint;
  return `AWS S3 (region ${s3.region ?? "us-east-1"})`;
}

/** The text of a checksum file for `name`. */
export function checksumText(sha256: string, name: string): string {
  return `${sha256}  ${name}\n`;
}

/** The hex digest in a checksum file (sha256sum's format; a bare digest too), or undefined. */
export function readChecksumText(text: string): string | undefined {
  const match = /^\s*([0-9a-f]{64})\b/i.exec(text);
  return match ? match[1]!.toLowerCase() : undefined;
}

/**
 * When a copy was taken: the UTC time in the name moxie gave it (its own clock, at the copy), else the time
 * the storage (or the filesystem) gives. A storage whose clock differs from the host's cannot reorder moxie's.
 */
export function copyTime(object: StoredObject): Date {
  const match = BACKUP_NAME.exec(baseName(object.key));
  if (!match) return object.lastModified;
  const [, date, time] = /^(\d{8})T(\d{6})Z$/.exec(match[1]!)!;
  return new Date(`${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6)}T${time!.slice(0, 2)}:${time!.slice(2, 4)}:${time!.slice(4)}Z`);
}

/** Newest first by copyTime; the later name first on a tie. */
export function newestFirst(objects: StoredObject[]): StoredObject[] {
  return [...objects].sort((a, b) => copyTime(b).getTime() - copyTime(a).getTime() || compareNames(b.key, a.key));
}

/** The copies moxie named (moxie-backup-<UTC>[-N].db), newest first by the time in the name, then N. */
export function moxieCopiesNewestFirst(objects: StoredObject[]): StoredObject[] {
  return objects.filter((object) => BACKUP_NAME.test(baseName(object.key))).sort((a, b) => compareNames(b.key, a.key));
}

/** Orders moxie's names by their time and then their -N (a plain name is -1); other names as text. */
export function compareNames(a: string, b: string): number {
  const ma = BACKUP_NAME.exec(baseName(a));
  const mb = BACKUP_NAME.exec(baseName(b));
  if (ma && mb) return ma[1]! === mb[1]! ? Number(ma[2] ?? 1) - Number(mb[2] ?? 1) : ma[1]! < mb[1]! ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
