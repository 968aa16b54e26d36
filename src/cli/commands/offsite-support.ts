// What the off-host commands share: the store for a bucket, storage failures turned into the command's one line (exit
// 2 for settings, 1 otherwise), and how copies and times are shown.
import type { S3Settings } from "../../offsite/locations.ts";
import { OffsiteError, OffsiteStore } from "../../offsite/store.ts";
import { CommandError, UsageError } from "../errors.ts";

/** The store for `bucket`, or a settings error (exit 2: nothing was sent) when the credentials are not set. */
export function openStore(s3: S3Settings, bucket: string, outcome: string): OffsiteStore {
  try {
    return new OffsiteStore(s3, bucket);
  } catch (error) {
    if (error instanceof OffsiteError) throw new UsageError(`${error.message}; ${outcome}`);
    throw error;
  }
}

/** `work`, with a failure of the storage turned into the command's one line. */
export async function failed<T>(work: Promise<T>, outcome: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw offsiteCommandError(error, outcome);
  }
}

export function offsiteCommandError(error: unknown, outcome: string): Error {
  if (error instanceof CommandError || error instanceof UsageError) return error;
  if (error instanceof OffsiteError) {
    if (error.failure === "settings" || error.failure === "credentials") return new UsageError(`${error.message}; ${outcome}`);
    return new CommandError(`${error.message}; ${outcome}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** 2026-11-30 02:30:05 */
export function formatTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
}

export function countCopies(count: number): string {
  return count === 1 ? "1 copy" : `${count} copies`;
}
