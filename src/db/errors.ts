// SQLite's "busy" and "full" as errors the edge can say in words, and the full-disk state /ready reports.
import type { Database } from "bun:sqlite";

/** Another connection held the write lock for longer than the busy timeout; nothing was written. */
export class DatabaseBusyError extends Error {
  override name = "DatabaseBusyError";
  constructor() {
    super("The database is busy; nothing was changed, try again shortly");
  }
}

/** The disk (or the database's page limit) is full; the transaction was rolled back, nothing was written. */
export class DatabaseFullError extends Error {
  override name = "DatabaseFullError";
  constructor() {
    super("The server's disk is full; nothing was changed. An operator must free space");
  }
}

/** Databases whose last write failed for lack of space, until a write succeeds again. */
const full = new WeakSet<Database>();

/**
 * The error to raise for `error` thrown by a write on `client`: busy and full become the errors above (and a
 * full disk is remembered for /ready); anything else is returned unchanged.
 */
export function translateDatabaseError(client: Database, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return error;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new DatabaseBusyError();
  if (code.startsWith("SQLITE_FULL")) {
    full.add(client);
    return new DatabaseFullError();
  }
  return error;
}

/** A write committed: there is room again. */
export function noteWriteSucceeded(client: Database): void {
  full.delete(client);
}

/** True while the last write on `client` failed because the disk was full. */
export function diskFullReported(client: Database): boolean {
  return full.has(client);
}
