// Off-host copies in S3-compatible storage through Bun's own client (Bun.S3Client): every request bounded in time,
// and every failure turned into one sentence without a secret. Where copies go and their names: locations.ts.
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { noteAbandonedRequest } from "./abandoned.ts";
import { describeEndpoint, s3Url, type S3Settings, type StoredObject } from "./locations.ts";

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

/** Each request other than a copy's transfer: a list, a HEAD, a delete, a checksum file. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A transfer gets this much plus SLOWEST_TRANSFER_BYTES_PER_S for its size (a stalled link ends, a slow one does not). */
export const TRANSFER_BASE_TIMEOUT_MS = 120_000;
export const SLOWEST_TRANSFER_BYTES_PER_S = 256 * 1024;
/** Multipart upload above this size (Bun's minimum part); a part is invisible until the upload completes. */
export const PART_SIZE_BYTES = 5 * 1024 * 1024;

/** sha256 of a file, read in chunks. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
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
        noteAbandonedRequest();
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
