// Off-host copies in S3-compatible storage through Bun's own client (Bun.S3Client): where they go (s3:// URLs),
// how they are named, every request bounded in time, and every failure turned into one sentence without a secret.
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import type { S3Settings } from "../settings.ts";
import { parseBucket, parseS3Prefix } from "../settings.ts";

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

/** Why a request to the storage failed, for the exit code and the sentence. */
export type OffsiteFailure = "credentials" | "settings" | "bucket" | "denied" | "missing" | "network" | "timeout" | "other";

/** One sentence, never a secret: the credentials are removed from anything the storage or Bun said. */
export class OffsiteError extends Error {
  override name = "OffsiteError";
  constructor(
    message: string,
    readonly failure: OffsiteFailure,
  ) {
    super(message);
  }
}

let abandoned = 0;

/** How many requests this process gave up waiting for (they may still hold a socket open). */
export function abandonedS3Requests(): number {
  return abandoned;
}

/** Each request other than a copy's transfer: a list, a HEAD, a delete, a checksum file. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A transfer gets this much plus SLOWEST_TRANSFER_BYTES_PER_S for its size (a stalled link ends, a slow one does not). */
export const TRANSFER_BASE_TIMEOUT_MS = 120_000;
export const SLOWEST_TRANSFER_BYTES_PER_S = 256 * 1024;
/** Multipart upload above this size (Bun's minimum part); a part is invisible until the upload completes. */
export const PART_SIZE_BYTES = 5 * 1024 * 1024;

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

/** sha256 of a file, read in chunks. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
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

/** The objects, credentials and bounds for one bucket. */
export class OffsiteStore {
  private readonly client: Bun.S3Client;
  private readonly secrets: string[];
  readonly endpoint: string;

  /** Throws OffsiteError("credentials") when the access key or the secret is not set: nothing is sent. */
  constructor(
    private readonly s3: S3Settings,
    readonly bucket: string,
  ) {
    const missing = [
      s3.accessKeyId === undefined ? "S3_ACCESS_KEY_ID" : undefined,
      s3.secretAccessKey === undefined ? "S3_SECRET_ACCESS_KEY" : undefined,
    ].filter((name) => name !== undefined);
    if (missing.length > 0) {
      throw new OffsiteError(
        `no S3 credentials: set ${missing.join(" and ")} (or the AWS_* spelling) in the environment or the settings file`,
        "credentials",
      );
    }
    this.endpoint = describeEndpoint(s3);
    this.secrets = [s3.accessKeyId, s3.secretAccessKey, s3.sessionToken].filter((value): value is string => value !== undefined && value.length >= 4);
    // Every option given, so what Bun would read from the environment by itself never differs from the settings.
    this.client = new Bun.S3Client({
      bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      ...(s3.sessionToken !== undefined ? { sessionToken: s3.sessionToken } : {}),
      ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
      region: s3.region ?? "us-east-1",
    });
  }

  url(key: string): string {
    return s3Url({ bucket: this.bucket, key });
  }

  /** Every object directly under `prefix` (not in deeper "folders"), in the storage's order. */
  async list(prefix: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<StoredObject[]> {
    const found: StoredObject[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.bounded(
        this.client.list({ prefix, delimiter: "/", ...(continuationToken ? { continuationToken } : {}) }),
        timeoutMs,
        `list ${this.url(prefix)}`,
      );
      for (const entry of page.contents ?? []) {
        if (entry.key.slice(prefix.length).includes("/")) continue;
        found.push({ key: entry.key, size: entry.size ?? 0, lastModified: new Date(entry.lastModified ?? 0) });
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
    return found;
  }

  async exists(key: string): Promise<boolean> {
    return this.bounded(this.client.exists(key), REQUEST_TIMEOUT_MS, `look for ${this.url(key)}`);
  }

  async size(key: string): Promise<number> {
    return (await this.bounded(this.client.stat(key), REQUEST_TIMEOUT_MS, `look at ${this.url(key)}`)).size;
  }

  /** A small object's text, or undefined when there is none. */
  async readText(key: string): Promise<string | undefined> {
    try {
      return await this.bounded(this.client.file(key).text(), REQUEST_TIMEOUT_MS, `read ${this.url(key)}`);
    } catch (error) {
      if (error instanceof OffsiteError && error.failure === "missing") return undefined;
      throw error;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    await this.bounded(this.client.write(key, text, { type: "text/plain" }), REQUEST_TIMEOUT_MS, `write ${this.url(key)}`);
  }

  /**
   * Uploads the file at `path` to `key`. Above PART_SIZE_BYTES Bun uploads it in parts (multipart): the object
   * appears only when the last part is in and the upload is completed, and a failed part aborts the upload;
   * below it, one PUT, which storage applies whole or not at all. Either way no partial object has the name.
   */
  async upload(key: string, path: string, size: number): Promise<void> {
    await this.bounded(
      this.client.write(key, Bun.file(path), { type: "application/vnd.sqlite3", partSize: PART_SIZE_BYTES }),
      transferTimeout(size),
      `upload ${this.url(key)}`,
    );
  }

  /** Downloads `key` into the new file `path` (owner-only) and returns its sha256 and size. */
  async download(key: string, path: string, expectedSize: number): Promise<{ sha256: string; size: number }> {
    const fd = openSync(path, "wx", 0o600);
    try {
      const hash = createHash("sha256");
      let size = 0;
      const copy = async () => {
        for await (const chunk of this.client.file(key).stream()) {
          hash.update(chunk);
          size += chunk.byteLength;
          for (let written = 0; written < chunk.byteLength; ) written += writeSync(fd, chunk, written);
        }
      };
      await this.bounded(copy(), transferTimeout(expectedSize), `download ${this.url(key)}`);
      fsyncSync(fd);
      return { sha256: hash.digest("hex"), size };
    } finally {
      closeSync(fd);
    }
  }

  async delete(key: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<void> {
    await this.bounded(this.client.delete(key), timeoutMs, `delete ${this.url(key)}`);
  }

  /**
   * `work`, or an OffsiteError when it fails or has not answered within `ms`. A request that does not answer
   * is abandoned, not cancelled (Bun's client takes no signal): the CLI exits when its command is done.
   */
  private async bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned++;
        reject(new OffsiteError(`cannot ${what}: ${this.endpoint} did not answer within ${Math.round(ms / 1000)} s`, "timeout"));
      }, ms);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      if (error instanceof OffsiteError) throw error;
      throw this.explain(error, what);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One sentence for what Bun's client threw, with the credentials taken out of anything quoted. */
  private explain(error: unknown, what: string): OffsiteError {
    const code = String((error as { code?: unknown }).code ?? "");
    const said = this.redact(error instanceof Error ? error.message : String(error));
    const names = this.s3.names;
    const keyNames = `${names.accessKeyId ?? "S3_ACCESS_KEY_ID"} and ${names.secretAccessKey ?? "S3_SECRET_ACCESS_KEY"}`;
    switch (code) {
      case "NoSuchBucket":
        return new OffsiteError(`cannot ${what}: the bucket ${this.bucket} does not exist at ${this.endpoint}; create it, or correct the bucket`, "bucket");
      case "NoSuchKey":
      case "NotFound":
        return new OffsiteError(`cannot ${what}: there is no such object`, "missing");
      case "InvalidAccessKeyId":
      case "SignatureDoesNotMatch":
      case "InvalidToken":
      case "ExpiredToken":
      case "TokenRefreshRequired":
      case "InvalidClientTokenId":
        return new OffsiteError(`cannot ${what}: ${this.endpoint} refused the credentials (${code}); check ${keyNames}`, "denied");
      case "AccessDenied":
      case "AllAccessDisabled":
      case "AccountProblem":
        return new OffsiteError(`cannot ${what}: access denied by ${this.endpoint} (${code}); the credentials in ${keyNames} may not do this`, "denied");
      case "ERR_S3_MISSING_CREDENTIALS":
        return new OffsiteError(`cannot ${what}: no S3 credentials (set ${keyNames})`, "credentials");
      case "InvalidURL":
      case "ERR_S3_INVALID_ENDPOINT":
        return new OffsiteError(`cannot ${what}: ${this.endpoint} is not an endpoint Bun can use (${code}); check S3_ENDPOINT`, "settings");
    }
    if (/^(Connection\w*|DNS\w*|E[A-Z]+|Timeout\w*|\w*Socket\w*|UNABLE_\w+|CERT_\w+|\w*TLS\w*|\w*SSL\w*|HTTP\w*Closed)$/.test(code)) {
      return new OffsiteError(`cannot ${what}: cannot reach ${this.endpoint} (${code}); check the network and S3_ENDPOINT`, "network");
    }
    const detail = code !== "" && !said.includes(code) ? `${code}: ${said}` : said;
    return new OffsiteError(`cannot ${what}: ${this.endpoint} answered: ${detail.replace(/\s+/g, " ").trim()}`, "other");
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.replaceAll(secret, "[redacted]");
    return out;
  }
}

function transferTimeout(bytes: number): number {
  return TRANSFER_BASE_TIMEOUT_MS + Math.ceil((bytes / SLOWEST_TRANSFER_BYTES_PER_S) * 1000);
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
